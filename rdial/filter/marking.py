"""Step 3 of `rdial filter`, in bucket tasks: the corpus-wide marks, then the shard files.

    python -m rdial filter corpus --force --workers 4   # progress lines "filter: corpus-wide
                                                        # rules" then "filter: writing shards"

3a. `mark_bucket`, one task a bucket: read the bucket's verdicts (step 1's row per chain, in
    chains-file order), mark duplicates (this bucket's later copies from step 2) and bland
    targets (step 2's common trigrams), apply plan_moves' thread moves, count (split, reason)
    and the DialoGPT keys' per-month figures, and stage the kept rows of each split and the
    rejected rows as Arrow IPC files (zstd) with the shards' (rejects') schema:
        WORK/staged/bucket=NNNNN/{train,valid,test,rejects}.arrow   (absent when no rows)
3b. `write_shard`, one task a shard file: once every bucket is marked, the kept rows per
    bucket give each file's rows up front (shards.shard_pieces over the buckets in order), so
    each task reads its slices of the staged files and writes its file (shards.write_shard_file):
    the same rows, files and row groups, byte for byte, as one process streaming the buckets in
    order through a ParquetShardWriter (what step 3 was until 2026-12).
The main process only plans: step 2's small results are merged once into WORK/marks/ for the
tasks to read, and the per-bucket counts are summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from rdial import schema
from rdial.filter import blandness, discard_keys, verdicts
from rdial.filter.memory import peak_mb, reset_peak
from rdial.filter.shards import write_shard_file
from rdial.filter.splits import apply_moves
from rdial.rules import RuleSettings

REJECTS_SCHEMA = schema.SHARDS.append(pa.field("reason", pa.string())).append(pa.field("split", pa.string()))
REJECTS = "rejects"  # the staged stream of dropped chains, beside the splits


def apply_corpus_rules(df: pl.DataFrame, bucket: int, settings: RuleSettings,
                       later: pl.DataFrame | None, common: pl.Series | None) -> pl.DataFrame:
    """The corpus-wide rules, in the preset's order, on the chains still kept."""
    drops = {}
    if "duplicate" in settings.rules and later is not None:
        rows = later.filter(pl.col("bucket") == bucket)["row"]
        drops["duplicate"] = pl.int_range(pl.len(), dtype=pl.Int64).is_in(rows.implode())
    if "bland" in settings.rules and common is not None:
        drops["bland"] = blandness.bland_mask(df["_tgt"], common, settings.bland_fraction)
    order = [r for r in settings.rules if r in drops]
    if not order:
        return df
    reason = pl.coalesce([pl.col("reason")] + [pl.when(drops[r]).then(pl.lit(r)) for r in order])
    return df.with_columns(reason.alias("reason"))


def staged_path(work: Path, bucket: int, stream: str) -> Path:
    return Path(work) / "staged" / f"bucket={bucket:05d}" / f"{stream}.arrow"


def write_marks(work: Path, common: pl.Series | None, later: pl.DataFrame | None) -> tuple[Path | None, Path | None]:
    """Step 2's results, merged once by the main process: one file each for every task to read."""
    marks = Path(work) / "marks"
    marks.mkdir(parents=True, exist_ok=True)
    common_path = later_path = None
    if common is not None:
        common_path = marks / "common.parquet"
        pl.DataFrame({"trigram": common}).write_parquet(common_path)
    if later is not None:
        later_path = marks / "later.parquet"
        later.sort("bucket", "row").write_parquet(later_path, row_group_size=64_000)
    return common_path, later_path


@dataclass
class MarkTask:
    bucket: int
    verdicts: Path  # this run's verdicts file of the bucket (step 1's output)
    work: Path
    settings: RuleSettings
    moves: dict  # plan_moves: thread -> split it is lent to
    keep_rejects: bool
    common: Path | None = None  # write_marks' files (None: the rule is off)
    later: Path | None = None

    def __str__(self) -> str:
        return f"bucket {self.bucket} ({self.verdicts})"


def _write_staged(path: Path, table: pa.Table, target: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.select(target.names).cast(target)
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, target, options=options) as w:
        w.write_table(table)


def mark_bucket(task: MarkTask) -> dict:
    """Step 3a: the corpus-wide marks and moves of one bucket -> its staged rows and counts."""
    reset_peak()
    common = later = None
    if task.common is not None:
        common = pl.read_parquet(task.common)["trigram"]
    if task.later is not None:
        later = pl.scan_parquet(task.later).filter(pl.col("bucket") == task.bucket).collect()
    df = apply_corpus_rules(verdicts.read_step1(task.verdicts), task.bucket, task.settings,
                            later, common)
    df = df.with_columns(apply_moves(pl.col("split"), pl.col("link_id"), task.moves).alias("split"))
    out = {"bucket": task.bucket, "counts": df.group_by("split", "reason").len(), "per_month": None,
           "rows": {}}
    if discard_keys.MONTH in df.columns:
        out["per_month"] = (df.filter(pl.col("reason").is_null()).group_by(discard_keys.MONTH)
                            .agg(pl.len().cast(pl.Int64), pl.col(discard_keys.ZEROED).sum().cast(pl.Int64)))
    for split in schema.SPLITS:
        kept = df.filter(pl.col("reason").is_null() & (pl.col("split") == split))
        out["rows"][split] = kept.height
        if kept.height:
            _write_staged(staged_path(task.work, task.bucket, split),
                          kept.select(schema.SHARDS.names).to_arrow(), schema.SHARDS)
    if task.keep_rejects:
        dropped = df.filter(pl.col("reason").is_not_null())
        out["rows"][REJECTS] = dropped.height
        if dropped.height:
            _write_staged(staged_path(task.work, task.bucket, REJECTS),
                          dropped.select(REJECTS_SCHEMA.names).to_arrow(), REJECTS_SCHEMA)
    out["peak_rss_mb"] = peak_mb()
    return out


@dataclass
class ShardFileTask:
    path: Path  # the file to write, in the new shards (rejects) directory
    pieces: list  # (staged file, start, stop) in order: shards.shard_pieces over the buckets
    target: pa.Schema
    row_group_rows: int

    def __str__(self) -> str:
        return f"shard file {self.path}"


def write_shard(task: ShardFileTask) -> dict:
    """Step 3b: one shard file from its slices of the staged buckets."""
    reset_peak()
    tables = []
    for staged, start, stop in task.pieces:
        with pa.OSFile(str(staged)) as source:  # zstd: read_all's buffers are its own
            tables.append(pa.ipc.open_file(source).read_all().slice(start, stop - start))
    rows = write_shard_file(task.path, tables, task.target, row_group_rows=task.row_group_rows)
    return {"rows": rows, "peak_rss_mb": peak_mb()}
