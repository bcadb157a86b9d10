"""DialoGPT's discard digests in `rdial filter`, and the keys' coverage in its stats.

    rdial filter corpus --preset dialogpt        # uses the keys `rdial build` indexed

`rdial build --dialogpt-keys PATH` indexes the keys in CORPUS/keys/dialogpt (rdial/build/
dialogpt_keys.py, where their semantics are described). The filter uses the same index, so the
two stages cannot disagree: `--dialogpt-keys` (or the preset TOML's `dialogpt_keys`) may be
given again, but must name what the build used, unchanged; a corpus built without keys refuses it.

Discard digests (`YYYY-MM-o.gz`): a turn whose hex SHA-224 of its normalised text (as written
to the TSV, without its weight) is listed for the chain's month gets weight 0.0, context turns
included, before the rules that count weight tokens (too_long, repetition) run; as DialoGPT's
extractor with --leaves_only 1 --clean True. The month of a chain is the UTC month of its
target's created_utc: the month of the dump file it came from (Pushshift and later re-dumps
file comments by that month). Per chain the filter adds `_keys_month` and `_keys_zeroed`
(turns zeroed by a digest), which the stats total per month for the kept chains.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rdial.build.dialogpt_keys import DIALOGPT_PRESETS, KeySource, index_dir, open_index
from rdial.errors import ConfigError
from rdial.ledger import combine_fingerprints, file_fingerprint

MONTH = "_keys_month"
ZEROED = "_keys_zeroed"


@functools.lru_cache(maxsize=16)
def _digests(path: str, stamp: tuple) -> pl.Series:
    return pl.read_parquet(path)["digest"]


def load_digests(root: Path, month: str) -> pl.Series | None:
    path = root / "discard" / f"{month}.parquet"
    if not path.is_file():
        return None
    st = path.stat()
    return _digests(str(path), (st.st_mtime_ns, st.st_size))


@dataclass(frozen=True)
class DiscardDigests:
    """Callable frame -> frame for ChainRules (picklable: the worker loads the digests)."""

    root: Path
    single: bool
    fingerprint: str

    def __call__(self, df: pl.DataFrame) -> pl.DataFrame:
        month = (pl.from_epoch(pl.col("turn_created").list.last(), time_unit="s")
                 .dt.strftime("%Y-%m").fill_null(""))
        df = df.with_columns(month.alias(MONTH))
        if self.single or df.is_empty():
            return df.with_columns(pl.lit(0, pl.Int32).alias(ZEROED))
        sets = {m: load_digests(self.root, m) for m in df[MONTH].unique().to_list()}
        sets = {m: s for m, s in sets.items() if s is not None and len(s)}
        if not sets:
            return df.with_columns(pl.lit(0, pl.Int32).alias(ZEROED))
        texts = df["norm_texts"].to_arrow()
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        lengths = pc.fill_null(pc.list_value_length(texts), 0).to_numpy(zero_copy_only=False)
        values = texts.flatten().to_pylist()
        months = np.repeat(df[MONTH].to_numpy(), lengths)
        listed = np.zeros(len(values), dtype=bool)
        for m, digests in sets.items():
            at = np.flatnonzero(months == m)
            hexes = pl.Series([hashlib.sha224((values[i] or "").encode("utf-8")).hexdigest()
                               for i in at.tolist()], dtype=pl.String)
            listed[at] = hexes.is_in(digests.implode()).to_numpy() if len(at) else []
        weights = df["turn_weights"].to_arrow()
        weights = weights.combine_chunks() if isinstance(weights, pa.ChunkedArray) else weights
        flat = weights.flatten().to_numpy(zero_copy_only=False).copy()
        flat[listed] = 0.0
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        new = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.float32()))
        zeroed = np.add.reduceat(listed.astype(np.int32), offsets[:-1]) if len(listed) else \
            np.zeros(df.height, np.int32)
        zeroed = np.where(lengths > 0, zeroed, 0)
        return df.with_columns(pl.Series("turn_weights", new, dtype=df.schema["turn_weights"]),
                               pl.Series(ZEROED, zeroed.astype(np.int32)))


def requested_path(flag_value: Path | None, settings) -> Path | None:
    if flag_value is not None:
        return Path(flag_value)
    configured = getattr(settings, "dialogpt_keys", "")
    return Path(configured) if configured else None


def resolve(corpus_root: Path, flag_value: Path | None, settings) -> DiscardDigests | None:
    """The digests of the keys the build indexed; an error when the stages would disagree."""
    manifest = open_index(corpus_root)
    requested = requested_path(flag_value, settings)
    if manifest is None:
        if requested is not None:
            raise ConfigError(f"--dialogpt-keys: {corpus_root} was built without keys; run "
                              f"`rdial build {corpus_root} --preset {settings.preset} "
                              f"--dialogpt-keys {requested}` first")
        return None
    built = Path(manifest["source"])
    if requested is not None and requested.resolve() != built.resolve():
        raise ConfigError(f"--dialogpt-keys: {requested} differs from the keys the chains were "
                          f"built with ({built}); rebuild with the same keys, or drop the flag")
    if getattr(settings, "preset", None) not in DIALOGPT_PRESETS:
        raise ConfigError(f"--preset: {settings.preset!r}: {corpus_root} was built with DialoGPT's "
                          f"keys ({built}); filter it with a DialoGPT preset (dialogpt, "
                          "dialogpt-test)")
    source = KeySource(built)
    if not built.exists():
        raise ConfigError(f"--dialogpt-keys: the keys the chains were built with are gone: {built}")
    for month, info in manifest["months"].items():
        key_file, digest_file = source.key_file(month), source.digest_file(month)
        fp = combine_fingerprints({"keys": file_fingerprint(key_file),
                                   "digests": file_fingerprint(digest_file) if digest_file else ""})
        if fp != info.get("fingerprint"):
            raise ConfigError(f"--dialogpt-keys: {key_file} (or its -o.gz) changed since "
                              f"`rdial build` indexed it; run `rdial build {corpus_root}` again")
    return DiscardDigests(root=index_dir(corpus_root), single=bool(manifest["single"]),
                          fingerprint=manifest["fingerprint"])


def coverage(build_stats: dict, kept: pl.DataFrame) -> dict:
    """stats/build.json's per-month key coverage, with the instances the filter kept.

    `kept`: one row per (month, kept chains, zeroed turns) total. In folder mode the months
    are the key files'; a single file's keys are counted under "all", the instances per month.
    """
    cov = dict(build_stats.get("dialogpt_keys") or {})
    months = {m: dict(v) for m, v in (cov.get("months") or {}).items()}
    for month, n, zeroed in kept.sort(MONTH).iter_rows():
        entry = months.setdefault(month, {})
        entry["instances"] = entry.get("instances", 0) + int(n)
        entry["weight0_turns_by_digest"] = entry.get("weight0_turns_by_digest", 0) + int(zeroed)
    if "all" in months:
        months["all"]["instances"] = int(kept[:, 1].sum()) if kept.height else 0
    cov["months"] = dict(sorted(months.items()))
    cov["instances"] = int(kept[:, 1].sum()) if kept.height else 0
    return cov


def coverage_table(cov: dict) -> str:
    """The filter table's section on the keys: one row per month."""
    cols = ["keep_keys", "keep_absent", "dep_keys", "dep_absent", "instances"]
    rows = [["DialoGPT keys", *cols]]
    for month, v in cov.get("months", {}).items():
        rows.append([f"  {month}", *(str(v.get(c, "")) for c in cols)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols) + 1)]
    return "\n".join("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                               for i, c in enumerate(r)) for r in rows)
