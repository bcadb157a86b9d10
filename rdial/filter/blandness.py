"""Blandness (DialoGPT paper): a target whose trigrams are mostly among the corpus' most common.

    python -c "from rdial.filter.blandness import trigram_counts; import polars as pl; \
print(trigram_counts(pl.Series(['i do not know', 'i do not care'])))"

A target is bland when at least `fraction` (0.9) of its trigrams occur more than `min_count`
(1000) times among the targets of the whole corpus (the chains that pass every per-chain rule).
Trigrams are three consecutive tokens of the normalised target, lowercased. A target with fewer
than three tokens has no trigrams and is never bland.

Exact counts in bounded memory, in three steps of `rdial filter`:
  1. each bucket task counts its targets' trigrams and spills (trigram, count) rows, partitioned
     by a hash of the trigram (spill.py);
  2. each partition is summed alone -> the trigrams seen more than `min_count` times;
  3. each bucket task marks its bland targets against that (small) set of common trigrams.
Peak memory is one bucket's trigrams or one partition's distinct trigrams, whichever is larger.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rdial.filter.spill import PartitionSpill


def trigrams(targets: pl.Series) -> pl.DataFrame:
    """(row, trigram) for every trigram of every target; `row` is the target's position."""
    tokens = (pl.DataFrame({"tok": targets.str.to_lowercase().str.split(" ")})
              .with_row_index("row").explode("tok")
              .filter(pl.col("tok").is_not_null() & (pl.col("tok") != "")))
    tri = pl.concat_str([pl.col("tok"), pl.col("tok").shift(-1), pl.col("tok").shift(-2)],
                        separator=" ")
    same_row = pl.col("row") == pl.col("row").shift(-2)
    return tokens.select("row", tri.alias("trigram"), same_row.alias("_ok")) \
        .filter(pl.col("_ok").fill_null(False)).drop("_ok")


def trigram_counts(targets: pl.Series) -> pl.DataFrame:
    """(trigram, count) over `targets`: one bucket's contribution to the corpus counts."""
    return trigrams(targets).group_by("trigram").agg(pl.len().cast(pl.Int64).alias("count"))


def common_trigrams(spill: PartitionSpill, part: int, min_count: int) -> pl.DataFrame:
    """The trigrams of one partition seen more than `min_count` times, with their counts."""
    lazy = spill.read(part)
    if lazy is None:
        return pl.DataFrame(schema={"trigram": pl.String, "count": pl.Int64})
    return (lazy.group_by("trigram").agg(pl.col("count").sum())
            .filter(pl.col("count") > min_count).collect())


def bland_mask(targets: pl.Series, common: pl.Series, fraction: float) -> pl.Series:
    """True where at least `fraction` of a target's trigrams are in `common`."""
    tri = trigrams(targets).with_columns(pl.col("trigram").is_in(common.implode()).alias("c"))
    share = tri.group_by("row").agg(pl.col("c").mean().alias("share"))
    flags = (pl.DataFrame({"row": pl.int_range(len(targets), eager=True, dtype=pl.UInt32)})
             .join(share, on="row", how="left").sort("row"))
    return (flags["share"].fill_null(0.0) >= fraction).alias("bland")


def load_common(paths: list[Path]) -> pl.Series:
    frames = [pl.read_parquet(p) for p in paths if p.exists()]
    if not frames:
        return pl.Series("trigram", [], dtype=pl.String)
    return pl.concat(frames)["trigram"]
