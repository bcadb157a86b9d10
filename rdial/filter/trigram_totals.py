"""The corpus' trigram totals kept between filter runs: a new month updates them, not recounts.

    python -c "import polars as pl; from rdial.filter.trigram_totals import trigram_delta; \
old = pl.DataFrame({'_k1': [1, 2], '_k2': [1, 2], '_tgt': ['i do not know', 'a b c']}); \
new = pl.DataFrame({'_k1': [2, 3], '_k2': [2, 3], '_tgt': ['a b c', 'i do not care']}); \
print(trigram_delta(old, new))"

Blandness (blandness.py) needs, for every trigram, how many times it occurs among the targets
of the chains that pass every per-chain rule. A monthly run changes a small part of the chains,
so instead of re-tokenising every passing target the filter keeps the totals of its last run:

  CORPUS/cache/filter_counts/part=NNNNN.parquet   (trigram, count) of every trigram seen, per
                                                  spill partition (the hash of spill.py), zstd
  CORPUS/cache/filter_counts/manifest.json        what they are the totals of: FORMAT, the
                                                  verdict keys' seeds (the settings, verdicts.py),
                                                  the partition count, and per bucket a digest
                                                  of the verdict cache file they count

and updates them as totals - counts(chains gone) + counts(chains new). Both are known in step 1
from the bucket's verdict cache file (the last run's rows, with their reason and target) and
this run's rows: a row is "gone" when its key (or a repeat of it) is no longer in the bucket,
"new" when the last run did not have it (a multiset difference by key and occurrence, so
identical chain rows count as many times as they occur). Step 2 adds each partition's signed
delta to its totals and writes the new totals beside the common trigrams.

The totals are trusted only when everything matches: the manifest's format, seeds and
partitions; every bucket it lists is still a chains bucket; and each listed bucket's verdict
file digests to the value recorded (the files are swapped in by a different rename, so the
digest, not the order of renames, is what ties the two). Anything else -- no manifest, other
settings, --force, a bucket that failed last run (its totals are then not published), a
vanished or damaged cache file, a negative total -- falls back to the full recount, whose
totals are then kept for the next run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from rdial.filter import blandness
from rdial.filter.spill import PartitionSpill
from rdial.publish import atomic_path, atomic_write_json

FORMAT = "1"  # bump when the totals' layout or meaning changes
KEYS = ["_k1", "_k2"]
_SCHEMA = {"trigram": pl.String, "count": pl.Int64}


def totals_dir(root: Path) -> Path:
    return Path(root) / "cache" / "filter_counts"


def part_path(directory: Path, part: int) -> Path:
    return Path(directory) / f"part={part:05d}.parquet"


def manifest_path(directory: Path) -> Path:
    return Path(directory) / "manifest.json"


def digest(rows: pl.DataFrame | None) -> dict:
    """What a bucket's verdict file holds, as the totals count it: rows, passing rows, and a
    hash of the verdict keys in file order."""
    if rows is None or rows.is_empty():
        return {"rows": 0, "passing": 0, "keys": ""}
    if any(c not in rows.columns for c in (*KEYS, "reason", "_tgt")):
        return {"rows": -1}  # not a verdict file of this code: matches no manifest
    h = hashlib.blake2b(digest_size=16)
    for k in KEYS:
        h.update(rows[k].cast(pl.UInt64).to_numpy().tobytes())
    return {"rows": rows.height, "passing": int(rows["reason"].is_null().sum()), "keys": h.hexdigest()}


def identity(seeds: tuple[int, int], parts: int) -> dict:
    return {"format": FORMAT, "seeds": [str(s) for s in seeds], "parts": parts,
            "polars": pl.__version__}


def read_manifest(directory: Path, seeds: tuple[int, int], parts: int,
                  buckets: list[int]) -> tuple[dict | None, str]:
    """-> ({bucket: digest} of the last run's totals, "") when they can be updated in this run,
    else (None, why not)."""
    path = manifest_path(directory)
    if not path.is_file():
        return None, "no totals kept"
    try:
        manifest = json.loads(path.read_text())
        listed = {int(b): d for b, d in manifest["buckets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, f"{path}: unreadable"
    if {k: manifest.get(k) for k in identity(seeds, parts)} != identity(seeds, parts):
        return None, "other settings, partitions or format"
    gone = sorted(set(listed) - set(buckets))
    if gone:
        return None, f"bucket {gone[0]} is no longer in chains/"
    missing = [p for p in range(parts) if not part_path(directory, p).is_file()]
    if missing:
        return None, f"{part_path(directory, missing[0])} missing"
    return listed, ""


def write_manifest(directory: Path, seeds: tuple[int, int], parts: int, buckets: dict[int, dict]) -> None:
    atomic_write_json(manifest_path(directory), {
        **identity(seeds, parts), "buckets": {f"{b:05d}": d for b, d in sorted(buckets.items())}})


def _with_occurrence(rows: pl.DataFrame) -> pl.DataFrame:
    """Number the repeats of a key (identical chain rows) so that a multiset difference is a join."""
    return rows.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over(KEYS).alias("_occ"))


def trigram_delta(old: pl.DataFrame | None, new: pl.DataFrame) -> pl.DataFrame:
    """(trigram, count) to add to the totals: + the trigrams of the passing rows of `new` that
    `old` did not have, - those of the passing rows of `old` that `new` no longer has. Both
    frames: _k1, _k2, _tgt (passing rows only); zero counts are left out."""
    on = [*KEYS, "_occ"]
    new = _with_occurrence(new.select(*KEYS, "_tgt"))
    if old is None or old.is_empty():
        added, gone = new, new.clear()
    else:
        old = _with_occurrence(old.select(*KEYS, "_tgt"))
        added = new.join(old.select(on), on=on, how="anti")
        gone = old.join(new.select(on), on=on, how="anti")
    changed = pl.concat([added.select("_tgt", pl.lit(1, pl.Int64).alias("w")),
                         gone.select("_tgt", pl.lit(-1, pl.Int64).alias("w"))])
    if changed.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    tri = blandness.trigrams(changed["_tgt"])
    weights = changed.select(pl.col("w")).with_row_index("row")
    return (tri.join(weights, on="row", how="left").group_by("trigram")
            .agg(pl.col("w").sum().alias("count")).filter(pl.col("count") != 0))


def updated_totals(old: Path | None, delta: PartitionSpill, part: int) -> pl.DataFrame:
    """One partition's new totals: the kept ones (None: start from zero) plus this run's counts."""
    frames = []
    if old is not None:
        frames.append(pl.scan_parquet(old).select(list(_SCHEMA)))
    lazy = delta.read(part)
    if lazy is not None:
        frames.append(lazy.select(list(_SCHEMA)))
    if not frames:
        return pl.DataFrame(schema=_SCHEMA)
    return (pl.concat(frames).group_by("trigram").agg(pl.col("count").sum())
            .filter(pl.col("count") != 0).collect())


def write_totals(path: Path, totals: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        totals.write_parquet(tmp, compression="zstd")
