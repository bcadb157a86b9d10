import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.filter.shards import ParquetShardWriter

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
