"""The bucketed writer: same files whether rows were held in memory or spilled, input order
kept within each bucket, empty buckets get no file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.corpus import Corpus
from rdial.extract.bucket_writer import BucketedParquetWriter
from rdial.schema import COMMENTS


def blocks(n_blocks=6, rows=500):
    for b in range(n_blocks):
        ids = [f"c{b}_{i}" for i in range(rows)]
        table = pa.table({f.name: pa.nulls(rows, f.type) for f in COMMENTS}, schema=COMMENTS)
        table = table.set_column(0, COMMENTS.field("id"), pa.array(ids))
        table = table.set_column(COMMENTS.get_field_index("line"), COMMENTS.field("line"),
                                 pa.array(np.arange(b * rows, (b + 1) * rows) + 1))
        yield table, np.array([(i * 7 + b) % 5 for i in range(rows)], dtype=np.int32)  # 5 of 8


def write_all(tmp_path, name, buffer_bytes):
    corpus = Corpus(tmp_path / name, 8)
    writer = BucketedParquetWriter(corpus, "comments", "RC_x.zst.parquet", tmp_path / name / "_st",
                                   schema=COMMENTS, buffer_bytes=buffer_bytes)
    for table, buckets in blocks():
        writer.write(table, buckets)
    writer.close()
    writer.publish()
    return corpus, writer


def test_spilled_and_held_rows_give_identical_files(tmp_path):
    held, w1 = write_all(tmp_path, "held", 1 << 30)
    spilled, w2 = write_all(tmp_path, "spilled", 1)
    assert (w1.spills, w2.spills) == (0, 6)
    assert w1.buckets == w2.buckets == [0, 1, 2, 3, 4]
    for bucket in range(8):
        a, b = held.bucket_files("comments", bucket), spilled.bucket_files("comments", bucket)
        assert [p.name for p in a] == [p.name for p in b] == (["RC_x.zst.parquet"] if bucket < 5 else [])
        if a:
            ta, tb = pq.read_table(a[0]), pq.read_table(b[0])
            assert ta.equals(tb) and ta.schema.equals(COMMENTS)
            lines = ta.column("line").to_pylist()
            assert lines == sorted(lines) and len(lines) == 600  # input order within the bucket
            assert pq.ParquetFile(a[0]).metadata.num_row_groups == 1
    assert not (tmp_path / "spilled" / "_st" / "spill" / "comments").exists() or not any(
        (tmp_path / "spilled" / "_st" / "spill" / "comments").iterdir())
