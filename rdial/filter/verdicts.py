"""Per-chain verdicts kept between filter runs: a new month judges only the chains it changed.

    python -c "import polars as pl; from rdial.filter.verdicts import chain_keys, key_seeds; \
from tests.filter.synthetic import random_chains; import polars as pl; \
print(chain_keys(pl.from_arrow(random_chains(3, seed=1)), key_seeds('settings')))"

The per-chain rules (step 1 of stage.py) depend only on the chain row and the settings, so
their output is kept per bucket in CORPUS/cache/filter/bucket=NNNNN.parquet (outside shards/,
which holds Parquet shards only). Rows: the bucket's chains as the last run judged them, in
chains-file order, holding only what step 3 cannot get back from the chains file cheaply:

  _k1, _k2        two 64-bit Polars hashes of the whole CHAINS row (every column, lists
                  element by element, nulls distinct from ""), seeded from the run's settings
                  fingerprint (rules, config and list files, DialoGPT keys, split fractions,
                  SPLIT_RULE, FORMAT, the Polars version): a chain is reused only when both
                  its content and the settings are those it was judged with
  reason, split   step 1's verdict (reason null = passes the local rules) and the hashed split
  _turns          UInt32: turns the structural cut kept (the cut chain is the last _turns turns
                  of the chain: ChainRules.recut)
  turn_weights    passing rows only (null for a dropped chain)
  _norm           passing rows only, with output_text = "normalized": the normalised turns (the
                  shards' turn_texts; the target, for `bland`, is its last)
  _tgt            passing rows only, with output_text = "original": the normalised target
  h1, h2          with `duplicate`, passing rows only: the dialogue hashes (duplicates.py)
  _keys_month, _keys_zeroed   with DialoGPT's keys (discard_keys.py)

Step 3 (marking.py) reads the bucket's chains file beside it and rebuilds step 1's row of
every kept chain (ChainRules.recut); a dropped chain is judged again only for --keep-rejects.
Until FORMAT 2 the file held step 1's whole row, the cut chain included (docs/filter.md
measures both).

A run reads a bucket's file, joins it to the keys of the bucket's current chains, judges only
the chains whose key is absent, and writes the file anew, in place (atomically, file by file:
only the current chains, all of them in order, so nothing accumulates). Every file is valid on
its own, its keys saying what it was judged from, so a run killed after some buckets leaves a
cache every later run can use; only the trigram totals (trigram_totals.py), which count a
given set of verdict files, then no longer match and are recounted. An unreadable or foreign
cache file is a miss, not an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from rdial import schema
from rdial.filter.discard_keys import MONTH, ZEROED
from rdial.publish import atomic_path

FORMAT = "2"  # bump when step 1's per-chain output changes shape or meaning
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


def verdict_rows(judged: pl.DataFrame, normalized: bool) -> pl.DataFrame:
    """ChainRules.apply's frame (with split[, h1, h2]) -> the cache's columns, with _tgt.

    What only a passing chain needs is null for a dropped one: step 3 rebuilds a kept chain's
    row from the chains file, _turns and these, and judges a dropped one again if it must."""
    passing = pl.col("reason").is_null()
    cols = [pl.col("reason"), pl.col("split"),
            pl.col("turn_texts").list.len().cast(pl.UInt32).alias("_turns"),
            pl.when(passing).then(pl.col("turn_weights")).alias("turn_weights")]
    if normalized:
        cols.append(pl.when(passing).then(pl.col("norm_texts")).alias("_norm"))
    cols.append(pl.when(passing).then(pl.col("norm_texts").list.last().fill_null(""))
                .alias("_tgt"))
    cols += [pl.when(passing).then(pl.col(c)).alias(c) for c in ("h1", "h2") if c in judged.columns]
    cols += [pl.col(c) for c in (MONTH, ZEROED) if c in judged.columns]
    return judged.select(cols)


def with_target(rows: pl.DataFrame) -> pl.DataFrame:
    """The normalised target `_tgt` of every passing row (stored, or the last of `_norm`)."""
    if "_tgt" in rows.columns or "_norm" not in rows.columns:
        return rows
    return rows.with_columns(pl.col("_norm").list.last().fill_null("").alias("_tgt"))


def read_rows(path: Path | None) -> pl.DataFrame | None:
    """A bucket's cache file as written (every row, repeats included, with _tgt), or None."""
    if path is None or not path.is_file():
        return None
    try:
        cached = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError, pa.ArrowException):
        return None  # an unreadable cache costs a re-judge, never a wrong verdict
    if any(k not in cached.columns for k in KEYS):
        return None
    return with_target(cached)


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


def read_step1(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """A bucket's verdicts as step 3 reads them, per chain in chains-file order (with _tgt)."""
    names = pq.read_schema(path).names
    wanted = [c for c in names if c not in (*KEYS, "h1", "h2")] if columns is None else \
        [c for c in names if c in columns or (c == "_norm" and "_tgt" in columns)]
    return with_target(pl.read_parquet(path, columns=wanted))


def write_cache(path: Path, judged: pl.DataFrame) -> None:
    """A bucket's verdicts, one row per chain in chains-file order, written atomically in place."""
    rows = judged.drop(ROW, *(["_tgt"] if "_norm" in judged.columns else []))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        rows.write_parquet(tmp, compression="zstd")
