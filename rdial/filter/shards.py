"""Parquet shards for streaming training: bounded files made of small row groups.

    with ParquetShardWriter(out / "train", schema.SHARDS, shard_rows=100_000,
                            row_group_rows=1_000) as w:
        w.write(table)                    # any number of times, any sizes
    # -> out/train/part-00000.parquet, part-00001.parquet, ...

Files hold `shard_rows` rows (the last one fewer); row groups hold `row_group_rows`, small enough
that a loader can shuffle across many of them and large enough to read fast. zstd-compressed,
with the contract's schema exactly, so polars, pyarrow, duckdb and HF `datasets` read them as
they are. A split with no rows still gets one empty part-00000 (readers need not special-case).

The same files from many processes (`rdial filter` step 3): when the rows of each source (a
bucket) are known in advance, `shard_pieces` cuts the stream into the files the writer above
would make, and `write_shard_file` writes one of them from its slices, row group by row group
as the writer does, so the bytes are the same whichever process writes which file (tested).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def shard_pieces(sources: list[tuple[object, int]], shard_rows: int) -> list[list[tuple[object, int, int]]]:
    """(source, rows) in stream order -> per shard file, the (source, start, stop) row slices it
    holds: `shard_rows` rows a file, the last one fewer, one empty file when there are no rows."""
    files: list[list[tuple[object, int, int]]] = []
    current: list[tuple[object, int, int]] = []
    room = shard_rows
    for source, rows in sources:
        start = 0
        while start < rows:
            take = min(room, rows - start)
            current.append((source, start, start + take))
            start, room = start + take, room - take
            if room == 0:
                files.append(current)
                current, room = [], shard_rows
    if current or not files:
        files.append(current)
    return files


def write_shard_file(path: Path, tables: list[pa.Table], schema: pa.Schema, *, row_group_rows: int,
                     compression: str = "zstd") -> int:
    """One shard file of `tables` (its rows in order), cut in row groups exactly as
    ParquetShardWriter cuts a file: `row_group_rows` each from the file's first row."""
    block = (pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])
             if tables else schema.empty_table()).combine_chunks()
    writer = pq.ParquetWriter(path, schema, compression=compression)
    try:
        for start in range(0, block.num_rows, row_group_rows):
            writer.write_table(block.slice(start, row_group_rows), row_group_size=row_group_rows)
    finally:
        writer.close()
    return block.num_rows


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
