"""Per-chain verdicts kept between filter runs: a new month judges only the chains it changed.

    python -c "import polars as pl; from rdial.filter.verdicts import chain_keys, key_seeds; \
from tests.filter.synthetic import random_chains; import polars as pl; \
print(chain_keys(pl.from_arrow(random_chains(3, seed=1)), key_seeds('settings')))"

The per-chain rules (step 1 of stage.py) depend only on the chain row and the settings, so
their output is kept per bucket in CORPUS/cache/filter/bucket=NNNNN.parquet (outside shards/,
which holds Parquet shards only). Rows: the bucket's chains as the last run judged them, in
chains-file order:

  _k1, _k2        two 64-bit Polars hashes of the whole CHAINS row (every column, lists
                  element by element, nulls distinct from ""), seeded from the run's settings
                  fingerprint (rules, config and list files, DialoGPT keys, split fractions,
                  SPLIT_RULE, FORMAT, the Polars version): a chain is reused only when both
                  its content and the settings are those it was judged with
  ...             step 1's row: the cut chain, turn_weights, reason, split, _tgt, and the
                  DialoGPT keys columns when the preset uses them
  h1, h2          with `duplicate`: the dialogue hashes (duplicates.py)

A run reads a bucket's file, joins it to the keys of the bucket's current chains, judges only
the chains whose key is absent, and writes the file anew (only the current chains, all of them
in order: nothing accumulates, and the new file is also what step 3 reads, so the cache costs no
extra write). New files are written beside the old directory and swapped in after the shards
(stage.py); a killed run leaves the previous directory, whose entries stay valid because their
keys say what they were judged from. An unreadable or foreign cache file is a miss, not an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pyarrow as pa

from rdial import schema
from rdial.publish import atomic_path

FORMAT = "1"  # bump when step 1's per-chain output changes shape or meaning
KEYS = ["_k1", "_k2"]
ROW = "_row"  # position in the chains file (UInt32), while a bucket is assembled


def cache_dir(root: Path) -> Path:
    return Path(root) / "cache" / "filter"


def cache_path(directory: Path, bucket: int) -> Path:
    return Path(directory) / f"bucket={bucket:05d}.parquet"


def key_seeds(fingerprint: str) -> tuple[int, int]:
    """Two hash seeds from the settings fingerprint: other settings, other keys."""
    d = hashlib.sha256(f"verdicts:{FORMAT}:{pl.__version__}:{fingerprint}".encode()).digest()
    return int.from_bytes(d[:8], "little"), int.from_bytes(d[8:16], "little")


def chain_keys(chains: pl.DataFrame, seeds: tuple[int, int]) -> pl.DataFrame:
    """(_row, _k1, _k2) per chain of a CHAINS frame, in frame order."""
    row = pl.struct(schema.CHAINS.names)
    return chains.select(row.hash(seed=seeds[0]).alias("_k1"),
                         row.hash(seed=seeds[1]).alias("_k2")).with_row_index(ROW)


def read_rows(path: Path | None) -> pl.DataFrame | None:
    """A bucket's cache file as written (every row, repeats included), or None."""
    if path is None or not path.is_file():
        return None
    try:
        cached = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError, pa.ArrowException):
        return None  # an unreadable cache costs a re-judge, never a wrong verdict
    if any(k not in cached.columns for k in KEYS):
        return None
    return cached


def unique_verdicts(rows: pl.DataFrame | None) -> pl.DataFrame | None:
    if rows is None:
        return None
    return rows.unique(KEYS, keep="first", maintain_order=True)  # identical chains: one verdict


def read_cached(path: Path | None) -> pl.DataFrame | None:
    return unique_verdicts(read_rows(path))


def split_hits(keys: pl.DataFrame, cached: pl.DataFrame | None) -> tuple[pl.DataFrame | None, pl.Series]:
    """-> (cached rows of the chains whose key is known, with _row; _row of the others)."""
    if cached is None or cached.is_empty():
        return None, keys[ROW]
    hits = keys.join(cached, on=KEYS, how="inner", maintain_order="left")
    misses = keys.join(cached.select(KEYS), on=KEYS, how="anti", maintain_order="left")[ROW]
    return hits, misses


def assemble(hits: pl.DataFrame | None, fresh: pl.DataFrame | None) -> pl.DataFrame:
    """Reused and freshly judged rows (both with _row and the keys) in chains-file order."""
    if hits is None or hits.is_empty():
        assert fresh is not None
        return fresh
    if fresh is None or fresh.is_empty():
        return hits
    if hits.schema != fresh.select(hits.columns).schema or set(hits.columns) != set(fresh.columns):
        raise ValueError("cached verdicts do not match this run's columns")
    return pl.concat([hits, fresh.select(hits.columns)]).sort(ROW).rechunk()


def read_step1(path: Path) -> pl.DataFrame:
    """A bucket's verdicts as step 3 reads them: step 1's row per chain, in chains-file order."""
    df = pl.read_parquet(path)
    return df.drop(*KEYS, "h1", "h2", strict=False)


def write_cache(path: Path, judged: pl.DataFrame) -> None:
    """A bucket's verdicts, one row per chain in chains-file order, written atomically."""
    rows = judged.drop(ROW)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        rows.write_parquet(tmp, compression="zstd")  # ~1.1x the chains; lz4: 1.7x, for 0.03 s less a bucket
