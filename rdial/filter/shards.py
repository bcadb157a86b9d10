"""Parquet shards for streaming training: bounded files made of small row groups.

    with ParquetShardWriter(out / "train", schema.SHARDS, shard_rows=100_000,
                            row_group_rows=1_000) as w:
        w.write(table)                    # any number of times, any sizes
    # -> out/train/part-00000.parquet, part-00001.parquet, ...

Files hold `shard_rows` rows (the last one fewer); row groups hold `row_group_rows`, small enough
that a loader can shuffle across many of them and large enough to read fast. zstd-compressed,
with the contract's schema exactly, so polars, pyarrow, duckdb and HF `datasets` read them as
they are. A split with no rows still gets one empty part-00000 (readers need not special-case).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class ParquetShardWriter:
    def __init__(self, directory: Path, schema: pa.Schema, *, shard_rows: int,
                 row_group_rows: int, compression: str = "zstd"):
        self.directory, self.schema = Path(directory), schema
        self.shard_rows, self.row_group_rows, self.compression = shard_rows, row_group_rows, compression
        self.files: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_file = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.directory.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows and self._pending_rows >= self._group_size():
            self._flush(self._group_size())

    def _group_size(self) -> int:
        """A row group never crosses a file boundary: the last one of a file may be smaller."""
        room = self.shard_rows - self._in_file if self._writer is not None else self.shard_rows
        return min(self.row_group_rows, room or self.shard_rows)

    def _flush(self, rows: int) -> None:
        """Write the first `rows` pending rows as one row group."""
        block = pa.concat_tables(self._pending).combine_chunks()
        head, rest = block.slice(0, rows), block.slice(rows)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        if self._writer is None or self._in_file == self.shard_rows:
            self._open_next()
        self._writer.write_table(head, row_group_size=self.row_group_rows)
        self._in_file += head.num_rows
        self.rows += head.num_rows

    def _open_next(self) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.directory / f"part-{len(self.files):05d}.parquet"
        self._writer = pq.ParquetWriter(path, self.schema, compression=self.compression)
        self.files.append(path)
        self._in_file = 0

    def close(self) -> list[Path]:
        while self._pending_rows:
            self._flush(min(self._pending_rows, self._group_size()))
        if self._writer is None:
            self._open_next()  # an empty split still gets a readable file
        self._writer.close()
        self._writer = None
        return self.files

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()
