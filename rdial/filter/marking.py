"""Step 3 of `rdial filter`, in bucket tasks: the corpus-wide marks, then the shard files.

    python -m rdial filter corpus --force --workers 4   # progress lines "filter: corpus-wide
                                                        # rules" then "filter: writing shards"

3a. `mark_bucket`, one task a bucket: read the bucket's chains file and its verdicts (step 1's
    slim row per chain, in chains-file order: verdicts.py), mark duplicates (this bucket's later copies from step 2) and bland
    targets (step 2's common trigrams), apply plan_moves' thread moves, count (split, reason)
    and the DialoGPT keys' per-month figures, rebuild the kept chains' rows (the cut again:
    ChainRules.recut, with the verdicts' normalised texts and weights; a rejected chain is
    judged again, with --keep-rejects only), and stage the kept rows of each split and the
    rejected rows as Arrow IPC files (zstd) with the shards' (rejects') schema:
        WORK/staged/bucket=NNNNN/{train,valid,test,rejects}.arrow   (absent when no rows)
3b. `write_shard`, one task a shard file: once every bucket is marked, the kept rows per
    bucket give each file's rows up front (shards.shard_pieces over the buckets in order), so
    each task reads its slices of the staged files and writes its file (shards.write_shard_file):
    the same rows, files and row groups, byte for byte, as one process streaming the buckets in
    order through a ParquetShardWriter (what step 3 was until 2026-12). A staged file is
    freed as soon as the last file that reads it is written: each such task reads its own hard
    link to it (`link_pieces`) and removes it once its file is written, so the staged rows and
    the new shards are not on disk whole at the same time.
The main process only plans: step 2's small results are merged once into WORK/marks/ for the
tasks to read, and the per-bucket counts are summed.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from rdial import schema
from rdial.filter import blandness, discard_keys, verdicts
from rdial.filter.chains import read_chains
from rdial.filter.memory import peak_mb, reset_peak
from rdial.filter.shards import write_shard_file
from rdial.filter.splits import apply_moves
from rdial.rules import ChainRules, RuleSettings

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
    chains: Path  # the bucket's chains file, which the verdicts' rows follow
    work: Path
    settings: RuleSettings
    moves: dict  # plan_moves: thread -> split it is lent to
    keep_rejects: bool
    common: Path | None = None  # write_marks' files (None: the rule is off)
    later: Path | None = None
    discard: object = None  # DialoGPT's discard digests, to judge rejected chains again

    def __str__(self) -> str:
        return f"bucket {self.bucket} ({self.verdicts})"


def _write_staged(path: Path, table: pa.Table, target: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.select(target.names).cast(target)
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, target, options=options) as w:
        w.write_table(table)


def step1_rows(task: MarkTask) -> pl.DataFrame:
    """The bucket's chains with their verdict columns (reason, split, _turns, turn_weights,
    _tgt[, _norm], the keys' month columns), row by row."""
    chains = read_chains(task.chains)
    judged = verdicts.read_step1(task.verdicts)
    if judged.height != chains.height:  # the chains changed since step 1: nothing to trust
        raise ValueError(f"{task.verdicts}: {judged.height} verdicts for the {chains.height} "
                         f"chains of {task.chains}; rerun rdial filter")
    return pl.concat([chains, judged], how="horizontal")


def kept_rows(df: pl.DataFrame, settings: RuleSettings) -> pl.DataFrame:
    """Step 1's row of chains that passed it: the cut again, its weights and texts."""
    df = ChainRules.recut(df)
    if settings.output_text == "normalized":
        df = df.with_columns(pl.col("_norm").alias("turn_texts"))
    return df


def rejected_rows(df: pl.DataFrame, settings: RuleSettings, discard) -> pl.DataFrame:
    """Step 1's row of dropped chains, judged again (what the verdicts do not keep for them)."""
    if df.is_empty():
        return df
    judged = ChainRules(settings, discard=discard).apply(df.select(schema.CHAINS.names))
    return judged.with_columns(df["reason"], df["split"])


def mark_bucket(task: MarkTask) -> dict:
    """Step 3a: the corpus-wide marks and moves of one bucket -> its staged rows and counts."""
    reset_peak()
    common = later = None
    if task.common is not None:
        common = pl.read_parquet(task.common)["trigram"]
    if task.later is not None:
        later = pl.scan_parquet(task.later).filter(pl.col("bucket") == task.bucket).collect()
    df = apply_corpus_rules(step1_rows(task), task.bucket, task.settings, later, common)
    df = df.with_columns(apply_moves(pl.col("split"), pl.col("link_id"), task.moves).alias("split"))
    out = {"bucket": task.bucket, "counts": df.group_by("split", "reason").len(), "per_month": None,
           "rows": {}}
    if discard_keys.MONTH in df.columns:
        out["per_month"] = (df.filter(pl.col("reason").is_null()).group_by(discard_keys.MONTH)
                            .agg(pl.len().cast(pl.Int64), pl.col(discard_keys.ZEROED).sum().cast(pl.Int64)))
    kept = kept_rows(df.filter(pl.col("reason").is_null()), task.settings)
    for split in schema.SPLITS:
        rows = kept.filter(pl.col("split") == split)
        out["rows"][split] = rows.height
        if rows.height:
            _write_staged(staged_path(task.work, task.bucket, split),
                          rows.select(schema.SHARDS.names).to_arrow(), schema.SHARDS)
    if task.keep_rejects:
        dropped = rejected_rows(df.filter(pl.col("reason").is_not_null()), task.settings, task.discard)
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
    linked: bool = False  # the pieces are this task's own links (link_pieces): removed when done

    def __str__(self) -> str:
        return f"shard file {self.path}"


def link_pieces(tasks: list[ShardFileTask]) -> list[ShardFileTask]:
    """Give every task its own hard link to each staged file it reads, then drop the staged
    names: a staged file leaves the disk when the last task that reads it has written its file.
    Where the file system has no hard links, the tasks read the staged files as they are (freed
    when the run ends). A task retried after it removed its links fails, and the run with it,
    before anything is published (a rerun starts from the chains)."""
    linked, made = [], []
    try:
        for i, task in enumerate(tasks):
            pieces = []
            for staged, start, stop in task.pieces:
                link = staged.with_name(f"{staged.stem}.file{i:05d}.arrow")
                if link not in made:
                    os.link(staged, link)
                    made.append(link)
                pieces.append((link, start, stop))
            linked.append(dataclasses.replace(task, pieces=pieces, linked=True))
    except OSError:
        for link in made:
            link.unlink(missing_ok=True)
        return tasks
    for staged in {p for t in tasks for p, _, _ in t.pieces}:
        staged.unlink()
    return linked


def write_shard(task: ShardFileTask) -> dict:
    """Step 3b: one shard file from its slices of the staged buckets."""
    reset_peak()
    tables = []
    for staged, start, stop in task.pieces:
        with pa.OSFile(str(staged)) as source:  # zstd: read_all's buffers are its own
            tables.append(pa.ipc.open_file(source).read_all().slice(start, stop - start))
    rows = write_shard_file(task.path, tables, task.target, row_group_rows=task.row_group_rows)
    del tables
    if task.linked:  # written: this task's links to the staged rows can go
        for staged in {p for p, _, _ in task.pieces}:
            staged.unlink(missing_ok=True)
    return {"rows": rows, "peak_rss_mb": peak_mb()}
