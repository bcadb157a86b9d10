"""Hash-partitioned spill files: corpus-wide counts in bounded memory.

    spill = PartitionSpill(work / "trigrams", parts=64)
    spill.write(counts, key="trigram", writer="bucket=00017")   # in each bucket task
    spill.read(7).group_by("trigram").agg(pl.sum("count"))         # one partition at a time

Layout: ROOT/part=PPPPP/<writer>.parquet. A key always lands in the same partition (a hash of
the key modulo `parts`), so a partition holds every occurrence of its keys: aggregating it alone
gives exact totals while memory holds 1/parts of the distinct keys. Polars' hash is stable within
one Polars version, which is all one run needs (the spill never outlives the run).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rdial.publish import atomic_path

_SEED = 0x5EED


class PartitionSpill:
    def __init__(self, root: Path, parts: int):
        self.root, self.parts = Path(root), parts

    def part_dir(self, part: int) -> Path:
        return self.root / f"part={part:05d}"

    def write(self, frame: pl.DataFrame, *, key: str, writer: str) -> None:
        """Append `frame`'s rows to the partitions of their `key` (one file per partition)."""
        if frame.is_empty():
            return
        part = (pl.col(key).hash(seed=_SEED) % self.parts).alias("_part")
        for (p,), group in frame.with_columns(part).partition_by("_part", as_dict=True).items():
            with atomic_path(self.part_dir(int(p)) / f"{writer}.parquet") as tmp:
                group.drop("_part").write_parquet(tmp, compression="lz4")

    def files(self, part: int) -> list[Path]:
        d = self.part_dir(part)
        return sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".")) if d.exists() else []

    def read(self, part: int) -> pl.LazyFrame | None:
        files = self.files(part)
        return pl.scan_parquet(files) if files else None
