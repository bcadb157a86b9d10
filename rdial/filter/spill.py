"""Hash-partitioned spill files: corpus-wide counts in bounded memory.

    spill = PartitionSpill(work / "trigrams", parts=64)
    spill.write(counts, key="trigram", writer="bucket=00017")   # in each bucket task
    spill.read(7).group_by("trigram").agg(pl.sum("count"))         # one partition at a time

Layout: ROOT/<writer>.parquet, one file per writer (bucket task) whose row groups are its
partitions in order, each tagged with `_part`. A key always lands in the same partition (a hash
of the key modulo `parts`), so a partition holds every occurrence of its keys: aggregating it
alone gives exact totals while memory holds about 1/parts of the distinct keys. Reading one
partition skips the other row groups by their `_part` statistics. (One file per writer, not per
writer and partition: thousands of tiny files cost more on a busy disk than the data.)
Polars' hash is stable within one Polars version, which is all one run needs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from rdial.publish import atomic_path

_SEED = 0x5EED


class PartitionSpill:
    def __init__(self, root: Path, parts: int):
        self.root, self.parts = Path(root), parts

    def write(self, frame: pl.DataFrame, *, key: str, writer: str) -> None:
        """Spill `frame`'s rows, grouped by the partition of their `key`."""
        if frame.is_empty():
            return
        part = (pl.col(key).hash(seed=_SEED) % self.parts).cast(pl.Int32).alias("_part")
        table = frame.with_columns(part).sort("_part").to_arrow()
        bounds = frame.select(part).to_series().value_counts().sort("_part")
        with atomic_path(self.root / f"{writer}.parquet") as tmp:
            with pq.ParquetWriter(tmp, table.schema, compression="lz4") as out:
                start = 0
                for n in bounds["count"].to_list():  # one row group per partition
                    out.write_table(table.slice(start, n), row_group_size=max(n, 1))
                    start += n

    def files(self) -> list[Path]:
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.glob("*.parquet") if not p.name.startswith("."))

    def read(self, part: int) -> pl.LazyFrame | None:
        files = self.files()
        if not files:
            return None
        return pl.scan_parquet(files).filter(pl.col("_part") == part).drop("_part")
