import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.filter.shards import ParquetShardWriter, shard_pieces, write_shard_file

SCHEMA = pa.schema([("x", pa.int64())])


def layout(directory):
    out = []
    for f in sorted(directory.glob("part-*.parquet")):
        meta = pq.ParquetFile(f).metadata
        out.append((f.name, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]))
    return out


def test_files_and_row_groups_have_the_configured_sizes(tmp_path):
    with ParquetShardWriter(tmp_path, SCHEMA, shard_rows=10, row_group_rows=4) as w:
        for i in range(5):                      # 25 rows in writes of 5
            w.write(pa.table({"x": list(range(i * 5, i * 5 + 5))}))
    # a row group never crosses a file boundary
    assert layout(tmp_path) == [("part-00000.parquet", [4, 4, 2]), ("part-00001.parquet", [4, 4, 2]),
                                ("part-00002.parquet", [4, 1])]
    assert pl.read_parquet(tmp_path)["x"].to_list() == list(range(25))
    assert w.rows == 25


def test_an_empty_split_still_gets_one_readable_file(tmp_path):
    with ParquetShardWriter(tmp_path, SCHEMA, shard_rows=10, row_group_rows=4):
        pass
    assert [name for name, _ in layout(tmp_path)] == ["part-00000.parquet"]
    assert pl.read_parquet(tmp_path / "part-00000.parquet").schema == {"x": pl.Int64}


def test_shard_pieces_cut_the_stream_into_the_writers_files():
    # sources of 5, 0, 9 and 3 rows, 7 rows a file: the files cross source boundaries
    assert shard_pieces([("a", 5), ("b", 0), ("c", 9), ("d", 3)], 7) == [
        [("a", 0, 5), ("c", 0, 2)], [("c", 2, 9)], [("d", 0, 3)]]
    assert shard_pieces([("a", 7), ("b", 7)], 7) == [[("a", 0, 7)], [("b", 0, 7)]]  # no empty tail
    assert shard_pieces([("a", 0)], 7) == [[]]  # no rows: one empty file
    assert shard_pieces([], 7) == [[]]


def test_files_written_from_pieces_are_the_streaming_writers_bytes(tmp_path):
    rng = np.random.default_rng(3)
    sizes = [0, 13, 1, 0, 40, 7, 22, 3]
    sources = {i: pa.table({"x": rng.integers(0, 50, n), "s": [f"t{v}" if v % 5 else None
                                                              for v in rng.integers(0, 9, n)]})
               for i, n in enumerate(sizes)}
    two = pa.schema([("x", pa.int64()), ("s", pa.string())])
    with ParquetShardWriter(tmp_path / "stream", two, shard_rows=17, row_group_rows=5) as w:
        for i, table in sources.items():  # each source in uneven writes, as buckets came
            for a in range(0, table.num_rows, 6):
                w.write(table.slice(a, 6))
    files = shard_pieces([(i, t.num_rows) for i, t in sources.items()], 17)
    (tmp_path / "pieces").mkdir()
    for n, pieces in reversed(list(enumerate(files))):  # any order: each file on its own
        write_shard_file(tmp_path / "pieces" / f"part-{n:05d}.parquet",
                         [sources[i].slice(a, b - a) for i, a, b in pieces], two, row_group_rows=5)
    assert layout(tmp_path / "pieces") == layout(tmp_path / "stream") == [
        ("part-00000.parquet", [5, 5, 5, 2]), ("part-00001.parquet", [5, 5, 5, 2]),
        ("part-00002.parquet", [5, 5, 5, 2]), ("part-00003.parquet", [5, 5, 5, 2]),
        ("part-00004.parquet", [5, 5, 5, 2]), ("part-00005.parquet", [1])]  # 86 rows
    for stream, pieces in zip(sorted((tmp_path / "stream").iterdir()), sorted((tmp_path / "pieces").iterdir())):
        assert stream.read_bytes() == pieces.read_bytes()
    write_shard_file(tmp_path / "empty.parquet", [], two, row_group_rows=5)
    with ParquetShardWriter(tmp_path / "none", two, shard_rows=17, row_group_rows=5):
        pass
    assert (tmp_path / "empty.parquet").read_bytes() == (tmp_path / "none/part-00000.parquet").read_bytes()
