"""The filter stage: chains -> rules -> train/valid/test Parquet shards, stats and rejects.

    python -c "from rdial.filter.stage import FilterConfig, run_filter; \
print(run_filter(FilterConfig(corpus='corpus', preset='dialogpt')).summary())"

Steps (each a set of independent tasks on the executor; buckets run in parallel):
  1. per bucket: read chains/bucket=N.parquet; cut and judge every chain (rules.py) and decide
     its split (splits.py), except the chains whose verdict the last run kept (verdicts.py:
     CORPUS/cache/filter, keyed by the chain's content and the settings); spill target
     trigrams (only those of the changed chains, signed, when the last run's totals in
     CORPUS/cache/filter_counts match its verdicts: trigram_totals.py) and dialogue hashes of
     the passing chains for the corpus-wide rules;
  2. per spill partition (only when `bland`/`duplicate` are on): exact corpus-wide totals (the
     kept trigram totals plus the delta, or the full counts), kept for the next run;
  3. per bucket (marking.py): mark duplicates and bland targets, apply the split moves, count,
     and stage the kept chains of each split (with keep_rejects, the dropped ones with their
     `reason` and `split`); then per shard file, known from the per-bucket counts: write
     shards/{train,valid,test}/part-NNNNN.parquet (and rejects/) from its slices of the staged
     buckets, in bucket order, byte-identical to one process streaming the buckets (shards.py).
Scratch files live in CORPUS/_work/filter and go when the run ends. Step 1 rewrites each
bucket's verdicts in CORPUS/cache/filter in place (one slim file a bucket, valid by its keys
alone: verdicts.py; --force ignores them and judges all), and step 3 reads them beside the
chains files. The new shards/ (Parquet files only; their stats and config go to
CORPUS/stats/filter.json and config/filter.json) is written beside the old one and swapped in
at the end, so a killed run leaves the previous shards intact and a rerun gives the same
files (reusing the verdicts the killed run wrote; the trigram totals, which no longer count
them, are then recounted). A bucket that fails
(in step 1 or 3) is reported and left out (exit status 1); the others are still published. A
shard file that cannot be written stops the run before anything is published.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from rdial import schema
from rdial.config import arg, require, save_config, to_jsonable
from rdial.corpus import Corpus
from rdial.errors import RdialError
from rdial.executor import TaskFailure, default_workers
from rdial.filter import blandness, discard_keys, duplicates, trigram_totals, verdicts
from rdial.filter.chains import read_chains
from rdial.filter.discard_keys import DiscardDigests
from rdial.filter.marking import REJECTS, REJECTS_SCHEMA, MarkTask, ShardFileTask
from rdial.filter.marking import link_pieces, mark_bucket, staged_path, write_marks, write_shard
from rdial.filter.memory import peak_mb, reset_peak
from rdial.filter.shards import shard_pieces
from rdial.filter.spill import PartitionSpill
from rdial.filter.splits import plan_moves, split_column, thread_summary
from rdial.ledger import Ledger, combine_fingerprints, file_fingerprint
from rdial.progress import PROGRESS_HELP, Progress
from rdial.publish import TMP_PREFIX, atomic_write_json, replace_dir, sweep_temporaries, temporary_name
from rdial.stage import Stage, StageContext, StageReport, TaskResult, run_stage
from rdial.rules import CORPUS_WIDE, DEFAULT_PRESET, PRESETS, ChainRules, load_settings
from rdial.rules import RuleSettings
from rdial.rules.record import check_filter, recorded_preset

STAGE = "filter"
# shards/ holds Parquet files only, so that every reader opens the folder whole
# (pq.read_table("corpus/shards"), pl.read_parquet, duckdb, HF datasets: polars refuses a folder
# with any other file, even one named "_x" or ".x"). The shards' stats and config live with the
# other stages': CORPUS/stats/filter.json, CORPUS/config/filter.json.
OUTCOME_KEYS = ("exit_status", "problems", "failed_tasks")  # what the scaffold adds to the stats
SPLIT_RULE = "hash+lend-1"  # how threads get their split (splits.py); bump when it changes


@dataclass(kw_only=True)
class FilterConfig:
    corpus: Path = field(metadata=arg("corpus directory (made by rdial extract and rdial build)",
                                      positional=True))
    preset: str | None = field(default=None, metadata=arg(
        f"rule set: {', '.join(PRESETS)} (default: the config file's base, else the preset the "
        f"corpus was built with, else {DEFAULT_PRESET}); its comment rules must be those the "
        "chains were built with (else filter stops and names the build command)",
        choices=PRESETS))
    config: Path | None = field(default=None, metadata=arg(
        "TOML file that changes any threshold, list or rule of the preset (keys: "
        "--list-settings)", metavar="TOML"))
    split_fractions: tuple[float, float, float] = field(default=(0.98, 0.01, 0.01), metadata=arg(
        "train valid test shares of threads (split by a hash of link_id)", metavar="F"))
    shard_rows: int = field(default=100_000, metadata=arg("chains per shard file"))
    row_group_rows: int = field(default=1_000, metadata=arg(
        "chains per Parquet row group (the unit a streaming loader shuffles)"))
    keep_rejects: bool = field(default=False, metadata=arg(
        "also write dropped chains to CORPUS/rejects/ with a `reason` column"))
    spill_partitions: int = field(default=64, metadata=arg(
        "hash partitions for the corpus-wide counts (more: less memory per partition)"))
    dialogpt_keys: Path | None = field(default=None, metadata=arg(
        "DialoGPT's keys: must be those `rdial build` used (the default: the keys the corpus "
        "was built with); their discard digests give listed turns weight 0.0 (docs/dialogpt.md)",
        metavar="PATH"))
    workers: int = field(default_factory=default_workers, metadata=arg("parallel bucket tasks"))
    executor: str = field(default="local", metadata=arg("where tasks run", choices=("local", "ray")))
    progress: bool = field(default=True, metadata=arg(PROGRESS_HELP))
    force: bool = field(default=False, metadata=arg(
        "recompute the shards even when the chains and settings are those of the last run, "
        "judging every chain again (ignoring the verdicts kept in CORPUS/cache/filter) and "
        "recounting the corpus' trigrams (not updating CORPUS/cache/filter_counts)"))

    def __post_init__(self):
        self.corpus = Path(self.corpus)
        self.config = Path(self.config) if self.config else None
        self.split_fractions = tuple(float(f) for f in self.split_fractions)
        require(len(self.split_fractions) == 3, "--split-fractions", "give three numbers: train valid test")
        require(all(f >= 0 for f in self.split_fractions) and abs(sum(self.split_fractions) - 1) < 1e-6,
                "--split-fractions", f"must be >= 0 and sum to 1, not {self.split_fractions}")
        require(self.shard_rows >= 1, "--shard-rows", "must be at least 1")
        require(self.row_group_rows >= 1, "--row-group-rows", "must be at least 1")
        require(self.spill_partitions >= 1, "--spill-partitions", "must be at least 1")
        require(self.workers >= 1, "--workers", "must be at least 1")


def filter_table(stats: dict, failed: list | None = None) -> str:
    """Chains in/out and drops per reason, per split, as a plain text table; then why a split is
    empty, which preset built the chains, DialoGPT keys coverage and failed tasks."""
    splits = list(schema.SPLITS)
    rows = [["", *splits, "total"],
            ["chains in", *(str(stats["splits"][s]["in"]) for s in splits), str(stats["chains_in"])]]
    for reason, total in sorted(stats["dropped"].items(), key=lambda kv: -kv[1]):
        rows.append([f"  {reason}", *(str(stats["splits"][s]["dropped"].get(reason, 0))
                                      for s in splits), str(total)])
    rows.append(["chains out", *(str(stats["splits"][s]["out"]) for s in splits),
                 str(stats["chains_out"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                       for i, c in enumerate(r)) for r in rows]
    notes = stats.get("split_notes", {})
    for split in splits:
        if stats["splits"][split]["out"] == 0:
            note = notes.get(split, "")
            if note.startswith("empty: "):
                why = note.removeprefix("empty: ")
            elif stats["splits"][split]["in"]:  # lent or hashed: all dropped later
                why = (f"{note + ', but ' if note else ''}a corpus-wide rule (duplicate, "
                       f"bland) dropped every chain of its threads")
            else:
                why = "no thread hashed into it"
            lines.append(f"{split}: empty: {why}")
        elif split in notes:
            lines.append(f"{split}: {notes[split]}")
    built = stats.get("chains_built_with")
    if built:
        rules = ", ".join(built.get("comment_rules") or []) or "none"
        lines.append(f"chains built with preset {built.get('name')} (comment rules: {rules}; "
                     f"their counts: stats/build.json `unusable`)")
    if stats.get("dialogpt_keys"):
        lines.append(discard_keys.coverage_table(stats["dialogpt_keys"]))
    for f in failed or ():
        lines.append(f"FAILED {f.name}: {f.message}")
    return "\n".join(lines)


# --- tasks (top-level functions: they run in worker processes) ------------------------------
@dataclass
class BucketTask:
    bucket: int
    chains: Path
    work: Path
    settings: RuleSettings
    fractions: tuple
    parts: int
    discard: DiscardDigests | None = None  # DialoGPT's keys (discard_keys.py)
    seeds: tuple[int, int] = (0, 0)  # verdict keys (verdicts.py): from the settings fingerprint
    cache_in: Path | None = None  # the previous run's verdicts (None: judge every chain)
    cache_out: Path | None = None  # where this run's go: the same directory (written in place)
    # trigram_totals.py: "update" spills the change of the bucket's counts since the last run
    # (whose verdict file must digest to `counts_last`; None: the bucket was not counted then),
    # "full" its counts
    counts: str = "full"
    counts_last: dict | None = None

    def __str__(self) -> str:
        return f"bucket {self.bucket} ({self.chains})"


def judge_chains(task: BucketTask, chains: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The per-chain rules on `chains` -> (_row, _k1, _k2, the cache's columns) per chain."""
    s = task.settings
    judged = ChainRules(s, discard=task.discard).apply(chains)
    judged = judged.with_columns(split_column(judged["link_id"], task.fractions))
    if "duplicate" in s.rules:
        judged = judged.with_columns(duplicates.dialogue_keys(judged, task.bucket).select("h1", "h2"))
    return pl.concat([keys, verdicts.verdict_rows(judged, s.output_text == "normalized")],
                     how="horizontal")


def judge_bucket(task: BucketTask) -> dict:
    """Step 1: local rules (only for chains the verdict cache does not know), split, and the
    spills for the corpus-wide rules."""
    reset_peak()
    s = task.settings
    chains = read_chains(task.chains)
    keys = verdicts.chain_keys(chains, task.seeds)
    rows = verdicts.read_rows(verdicts.cache_path(task.cache_in, task.bucket)
                              if task.cache_in else None)
    hits, misses = verdicts.split_hits(keys, verdicts.unique_verdicts(rows))
    fresh = (judge_chains(task, chains[misses], keys[misses]) if len(misses) else None)
    try:
        judged = verdicts.assemble(hits, fresh)
    except ValueError:  # a cache from other code: judge the bucket whole
        hits, misses = None, keys[verdicts.ROW]
        judged = judge_chains(task, chains, keys)
    if judged.height != chains.height:
        raise RdialError(f"{task}: {judged.height} verdicts for {chains.height} chains")
    passing = judged.with_columns(chains["link_id"]).filter(pl.col("reason").is_null())
    writer = f"bucket={task.bucket:05d}"
    counts_ok = True
    if "bland" in s.rules:
        if task.counts == "update":  # totals - counts(rows gone) + counts(rows new)
            last = task.counts_last  # None: not in the kept totals, all its rows are new
            old = rows if last is not None else None
            counts_ok = trigram_totals.digest(old) == (last or trigram_totals.digest(None))
            old = old.filter(pl.col("reason").is_null()) if old is not None and counts_ok else None
            counts = trigram_totals.trigram_delta(old, passing) if counts_ok else None
        else:
            counts = blandness.trigram_counts(passing["_tgt"])
        if counts is not None:
            PartitionSpill(task.work / "trigrams", task.parts).write(counts, key="trigram", writer=writer)
    if "duplicate" in s.rules:
        keys = passing.select("h1", "h2", pl.lit(task.bucket, pl.Int32).alias("bucket"),
                              pl.col(verdicts.ROW).cast(pl.Int64).alias("row"))
        PartitionSpill(task.work / "dialogues", task.parts).write(keys, key="h1", writer=writer)
    # in place: step 3 reads them beside the chains file (verdicts.py)
    verdicts.write_cache(verdicts.cache_path(task.cache_out, task.bucket), judged)
    return {"bucket": task.bucket, "chains": judged.height, "judged": len(misses),
            "reused": judged.height - len(misses), "peak_rss_mb": peak_mb(),
            "counts_ok": counts_ok, "digest": trigram_totals.digest(judged),
            **thread_summary(passing["link_id"], passing["split"])}


def count_bucket(task: BucketTask) -> dict:
    """Step 1's full recount, when the kept totals turned out not to match: the trigram counts
    of the bucket's passing targets, from the verdicts step 1 wrote."""
    judged = verdicts.read_step1(verdicts.cache_path(task.cache_out, task.bucket), ["reason", "_tgt"])
    counts = blandness.trigram_counts(judged.filter(pl.col("reason").is_null())["_tgt"])
    PartitionSpill(task.work / "trigrams", task.parts).write(counts, key="trigram",
                                                             writer=f"bucket={task.bucket:05d}")
    return {"bucket": task.bucket}


@dataclass
class PartTask:
    part: int
    work: Path
    settings: RuleSettings
    parts: int
    totals_in: Path | None = None  # the kept trigram totals to update (None: the spills are full counts)
    totals_out: Path | None = None  # where this run's totals go (trigram_totals.py)

    def __str__(self) -> str:
        return f"spill partition {self.part}"


def reduce_part(task: PartTask) -> dict:
    """Step 2: exact totals of one partition -> common trigrams, later copies of dialogues."""
    reset_peak()
    out = {}
    if "bland" in task.settings.rules:
        spill = PartitionSpill(task.work / "trigrams", task.parts)
        if task.totals_out is None:
            common = blandness.common_trigrams(spill, task.part, task.settings.bland_min_count)
        else:
            old = trigram_totals.part_path(task.totals_in, task.part) if task.totals_in else None
            totals = trigram_totals.updated_totals(old, spill, task.part)
            if totals.height and totals["count"].min() < 0:  # kept totals of other rows: recount
                return {"counts_ok": False, "peak_rss_mb": peak_mb()}
            trigram_totals.write_totals(trigram_totals.part_path(task.totals_out, task.part), totals)
            common = totals.filter(pl.col("count") > task.settings.bland_min_count)
        path = task.work / "common" / f"part={task.part:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        common.write_parquet(path)
        out["common_trigrams"] = common.height
    if "duplicate" in task.settings.rules:
        later = duplicates.later_copies(PartitionSpill(task.work / "dialogues", task.parts), task.part)
        path = task.work / "later" / f"part={task.part:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        later.write_parquet(path)
        out["duplicates"] = later.height
    out["peak_rss_mb"] = peak_mb()
    out["counts_ok"] = True
    return out


# --- the stage ------------------------------------------------------------------------------
def chain_buckets(corpus: Corpus) -> list[tuple[int, Path]]:
    d = corpus.chains_dir
    found = []
    if d.exists():
        for p in sorted(d.glob("bucket=*.parquet")):
            try:
                found.append((int(p.stem.split("=", 1)[1]), p))
            except ValueError:
                continue
    return found


def run_fingerprint(cfg: FilterConfig, settings: RuleSettings, buckets: list[tuple[int, Path]]) -> str:
    """What the shards depend on: every chains file, the settings (with the content of their
    list files) and the options that shape the output.

    `rdial build` rewrites only the buckets whose comments changed, so after a monthly build the
    fingerprint changes exactly when some chains did; workers and progress do not count.
    """
    parts = {p.name: file_fingerprint(p) for _, p in buckets}
    parts["settings"] = settings.fingerprint()
    parts["output"] = json.dumps([list(cfg.split_fractions), cfg.shard_rows, cfg.row_group_rows,
                                  cfg.keep_rejects, SPLIT_RULE])
    return combine_fingerprints(parts)


def verdict_fingerprint(cfg: FilterConfig, settings: RuleSettings,
                        discard: DiscardDigests | None) -> str:
    """What one chain's step-1 verdict depends on besides the chain itself (verdicts.py): the
    settings with their list files, DialoGPT's keys, the split fractions and rule. Not the
    shard layout or --keep-rejects, which only shape the output, nor where the TOML files
    were read from (`sources`: the values they set and the list files' content count)."""
    return combine_fingerprints({"settings": dataclasses.replace(settings, sources=[]).fingerprint(),
                                 "keys": discard.fingerprint if discard is not None else "",
                                 "split": json.dumps([list(cfg.split_fractions), SPLIT_RULE])})


def _run(ctx: StageContext, fn, tasks, desc: str) -> tuple[list, list[TaskFailure]]:
    results = ctx.map(fn, tasks, f"filter: {desc}")
    failures = [r for r in results if isinstance(r, TaskFailure)]
    for f in failures if not ctx.quiet else ():
        Progress.message(f"rdial filter: {f.task}: {f.message}")
    return results, failures


def sweep_leftovers(corpus: Corpus) -> None:
    """Remove what a killed run left: half-written shards/rejects dirs beside the real ones."""
    for name in ("shards", "rejects"):
        for p in corpus.root.glob(f"{TMP_PREFIX}*-{name}"):
            shutil.rmtree(p, ignore_errors=True)
    for cache in (verdicts.cache_dir(corpus.root), trigram_totals.totals_dir(corpus.root)):
        for p in cache.parent.glob(f"{TMP_PREFIX}*-{cache.name}"):
            shutil.rmtree(p, ignore_errors=True)
    sweep_temporaries(corpus.root / "shards")


def _max_peak(results: list) -> float | None:
    peaks = [r["peak_rss_mb"] for r in results if isinstance(r, dict) and r.get("peak_rss_mb")]
    return max(peaks) if peaks else None


@dataclass(frozen=True)
class ShardsTask:
    """The one unit the ledger tracks: every chains file and setting -> the shards."""

    buckets: tuple[tuple[int, Path], ...]
    fingerprint: str
    key: str = "shards"


class FilterStage(Stage):
    """`rdial filter` as the stage scaffold runs it. The shards are one ledger unit (the
    corpus-wide rules see every bucket), computed in three steps of tasks."""

    name = STAGE

    def __init__(self, cfg: FilterConfig):
        self.cfg = cfg
        self.settings: RuleSettings | None = None  # plan(): the corpus records its preset
        self.workers, self.executor = cfg.workers, cfg.executor
        self.force, self.progress = cfg.force, cfg.progress
        self.discard: DiscardDigests | None = None
        self.built: dict = {}

    def sweep(self, corpus: Corpus) -> None:
        sweep_leftovers(corpus)

    def plan(self, corpus: Corpus) -> list[ShardsTask]:
        self.settings = load_settings(self.cfg.preset, self.cfg.config,
                                      fallback=recorded_preset(corpus))
        buckets = chain_buckets(corpus)
        if not buckets:
            return []
        self.discard = discard_keys.resolve(corpus.root, self.cfg.dialogpt_keys, self.settings)
        self.built = check_filter(corpus, self.settings, self.cfg.config)
        fingerprint = run_fingerprint(self.cfg, self.settings, buckets)
        if self.discard is not None:
            fingerprint = combine_fingerprints({"run": fingerprint, "keys": self.discard.fingerprint})
        return [ShardsTask(tuple(buckets), fingerprint)]

    def up_to_date(self, corpus: Corpus, task: ShardsTask, entry: dict) -> bool:
        return corpus.shards_dir.is_dir() and (corpus.root / "stats" / f"{STAGE}.json").exists()

    def skipped_result(self, corpus: Corpus, task: ShardsTask, entry: dict) -> TaskResult:
        stats = json.loads((corpus.root / "stats" / f"{STAGE}.json").read_text())
        stats = {k: v for k, v in stats.items() if k not in OUTCOME_KEYS}
        return TaskResult(task.key, "skipped", stats, ["shards"], "same chains and settings")

    def nothing_to_do(self, corpus: Corpus) -> str:
        return f"filter: {corpus.chains_dir}: no chains found; run `rdial build {corpus.root}` first"

    def run(self, ctx: StageContext, todo: list[ShardsTask]) -> list[TaskResult]:
        if not todo:
            return []
        return _filter(ctx, self.cfg, self.settings, todo[0], self.discard, self.built)

    def finish(self, corpus: Corpus, report: StageReport) -> dict | None:
        shards = next((r for r in report.results if r.name == "shards"), None)
        if shards is None:
            return {"stage": STAGE}
        report.stats = dict(shards.stats)
        report.totals = {k: shards.stats[k] for k in ("chains_in", "chains_out")}
        if shards.status == "skipped":
            return None  # stats/filter.json is that of the run that made these shards
        return report.stats

    def summary(self, report: StageReport) -> str:
        if not report.stats.get("splits"):
            return "\n".join(report.problems)
        s = report.stats
        if report.up_to_date:
            head = (f"filter: shards up to date (same chains and settings as the last run; "
                    f"--force recomputes them): {s['chains_out']} chains in {report.corpus / 'shards'}")
        else:
            head = (f"filter: preset {s['preset']}, {s['chains_out']} of {s['chains_in']} chains "
                    f"kept -> {report.corpus / 'shards'}; {s.get('chains_judged', 0)} chains "
                    f"judged, {s.get('chains_reused', 0)} verdicts reused from "
                    f"{verdicts.cache_dir(report.corpus)}")
        return "\n".join([head, filter_table(s, report.failed)] + report.problems)


def run_filter(cfg: FilterConfig, *, locked: bool = False) -> StageReport:
    """Judge the chains of `cfg.corpus` into shards; see the module docstring."""
    corpus = Corpus.open(cfg.corpus)
    return run_stage(FilterStage(cfg), corpus, locked=locked)


def _filter(ctx: StageContext, cfg: FilterConfig, settings: RuleSettings, task: ShardsTask,
            discard: DiscardDigests | None, built: dict) -> list[TaskResult]:
    corpus, buckets = ctx.corpus, list(task.buckets)
    ledger = Ledger(corpus.root, STAGE)
    ledger.forget("shards")  # from here on the published shards may change
    started = time.time()
    work = corpus.root / "_work" / STAGE
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # verdicts are rewritten in place, bucket by bucket: each file is valid by its keys alone
    cache = verdicts.cache_dir(corpus.root)
    seeds = verdicts.key_seeds(verdict_fingerprint(cfg, settings, discard))
    # the trigram totals of the last run, updated when they match its verdicts (trigram_totals.py)
    totals = trigram_totals.totals_dir(corpus.root)
    new_totals = temporary_name(totals)
    bland = "bland" in settings.rules
    last, why = (None, "--force") if cfg.force else (None, "bland is off") if not bland else \
        trigram_totals.read_manifest(totals, seeds, cfg.spill_partitions, [b for b, _ in buckets])
    counts = "update" if last is not None else "full"
    tasks = [BucketTask(b, p, work, settings, cfg.split_fractions, cfg.spill_partitions, discard,
                        seeds=seeds, cache_in=None if cfg.force else cache, cache_out=cache,
                        counts=counts, counts_last=last.get(b) if last else None)
             for b, p in buckets]
    judged, failures = _run(ctx, judge_bucket, tasks, "judging chains")
    steps = {"judge": round(time.time() - started, 3)}  # wall seconds per step, this run's
    peaks = {"judge": _max_peak(judged)}
    failed = {f.task.bucket for f in failures}
    tasks = [t for t in tasks if t.bucket not in failed]
    if not tasks:  # nothing to publish: keep the previous shards rather than empty ones
        shutil.rmtree(work, ignore_errors=True)
        raise RdialError(f"every bucket failed (first: {failures[0].task}: {failures[0].message}); "
                         f"{corpus.shards_dir} left as it was")
    global_stats = {}

    def recount(reason: str) -> None:  # the kept totals do not match: count every bucket again
        nonlocal counts, why
        counts, why = "full", reason
        shutil.rmtree(work / "trigrams", ignore_errors=True)
        shutil.rmtree(new_totals, ignore_errors=True)
        _, count_failures = _run(ctx, count_bucket, tasks, "recounting trigrams")
        if count_failures:
            raise RdialError(f"rdial filter: {count_failures[0].task}: {count_failures[0].message}")

    if counts == "update" and bland:
        if failures:
            recount("a bucket failed")
        elif not all(r["counts_ok"] for r in judged):
            recount(f"bucket {next(r['bucket'] for r in judged if not r['counts_ok'])}: its "
                    f"verdicts are not those the kept totals count")
    if any(r in settings.rules for r in CORPUS_WIDE) and tasks:
        mark = time.time()
        while True:
            parts = [PartTask(p, work, settings, cfg.spill_partitions,
                              totals_in=totals if counts == "update" else None,
                              totals_out=new_totals if bland else None)
                     for p in range(cfg.spill_partitions)]
            results, part_failures = _run(ctx, reduce_part, parts, "corpus-wide counts")
            if part_failures:  # without every partition the global rules would be wrong: stop
                raise RdialError(f"rdial filter: {part_failures[0].task}: {part_failures[0].message}")
            if all(r["counts_ok"] for r in results):
                break
            recount("a kept total went below zero")  # then once more, from full counts
        steps["corpus_counts"] = round(time.time() - mark, 3)
        peaks["corpus_counts"] = _max_peak(results)
        for r in results:
            for k, v in r.items():
                if k not in ("peak_rss_mb", "counts_ok"):
                    global_stats[k] = global_stats.get(k, 0) + v
    if bland:
        global_stats["trigram_totals"] = "updated" if counts == "update" else f"recounted: {why}"
        if not failures:  # a bucket left out keeps its old verdicts, which these do not count
            trigram_totals.write_manifest(new_totals, seeds, cfg.spill_partitions,
                                          {r["bucket"]: r["digest"] for r in judged})
    done = sorted(t.bucket for t in tasks)
    moves, notes = plan_moves([r for r in judged if isinstance(r, dict)], cfg.split_fractions)
    done_results = [r for r in judged if isinstance(r, dict)]
    extra = dict(global_stats, chains_judged=sum(r["judged"] for r in done_results),
                 chains_reused=sum(r["reused"] for r in done_results),
                 failed_buckets=sorted(failed), peak_rss_mb=peaks,
                 chains_built_with={k: built.get(k) for k in ("name", "comment_rules")},
                 lent_threads=moves, split_notes=notes)
    try:
        stats, late = publish(ctx, corpus, cfg, settings, work, cache, dict(buckets), discard, done,
                              extra, moves, steps)
    except RdialError:  # nothing published: the previous shards and totals stay
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(new_totals, ignore_errors=True)
        with contextlib.suppress(OSError):
            work.parent.rmdir()
        raise
    failures += late  # buckets failed in step 3: left out like those of step 1
    mark = time.time()
    publish_verdicts(cache, [b for b, _ in buckets])
    if bland:  # without a manifest (a failed bucket) the next run recounts
        new_totals.mkdir(parents=True, exist_ok=True)
        if late:  # a run that left buckets out in step 3 recounts next time, to be safe
            trigram_totals.manifest_path(new_totals).unlink(missing_ok=True)
        replace_dir(new_totals, totals)
    elif totals.exists():  # counts of other settings: of no use to any later run
        shutil.rmtree(totals)
    steps["publish"] = round(time.time() - mark, 3)
    stats["seconds"] = round(time.time() - started, 3)
    stats["seconds_per_step"] = steps
    write_outputs(corpus, cfg, settings, stats)
    if not failures:  # a run that left buckets out must run again next time
        ledger.record("shards", task.fingerprint, outputs=["shards"],
                      stats={"chains_out": stats["chains_out"]})
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # CORPUS/_work, when no other stage is using it
    return [TaskResult("shards", "done", stats, ["shards"])] + [
        TaskResult(f"bucket={f.task.bucket:05d}", "failed", message=f.message) for f in failures]


def publish_verdicts(cache: Path, buckets: list[int]) -> None:
    """Drop the verdicts of buckets no longer in chains/ (the others were rewritten in place by
    step 1, or, for a bucket that failed there, kept as they were: valid by their keys)."""
    keep = {verdicts.cache_path(cache, b).name for b in buckets}
    for p in cache.glob("bucket=*.parquet") if cache.is_dir() else ():
        if p.name not in keep:
            p.unlink()


def publish(ctx: StageContext, corpus: Corpus, cfg: FilterConfig, settings: RuleSettings,
            work: Path, judged: Path, chains: dict[int, Path], discard: DiscardDigests | None,
            buckets: list[int], extra: dict, moves: dict,
            steps: dict) -> tuple[dict, list[TaskFailure]]:
    """Step 3 (marking.py): the corpus-wide rules in bucket tasks, then the shard (and reject)
    files in file tasks, into new directories; swap those in. -> (stats, failed buckets)."""
    parts = range(cfg.spill_partitions)
    common = later = None
    if "bland" in settings.rules:  # small: only trigrams seen more than bland_min_count times
        common = blandness.load_common([work / "common" / f"part={p:05d}.parquet" for p in parts])
    if "duplicate" in settings.rules:  # small: one row per duplicate
        later = duplicates.load_later([work / "later" / f"part={p:05d}.parquet" for p in parts])
    common_path, later_path = write_marks(work, common, later)
    del common, later
    peaks = extra["peak_rss_mb"]
    mark = time.time()
    tasks = [MarkTask(b, verdicts.cache_path(judged, b), chains[b], work, settings, moves,
                      cfg.keep_rejects, common=common_path, later=later_path, discard=discard)
             for b in buckets]
    results, failures = _run(ctx, mark_bucket, tasks, "corpus-wide rules")
    steps["corpus_rules"] = round(time.time() - mark, 3)
    peaks["corpus_rules"] = _max_peak(results)
    marked = [r for r in results if isinstance(r, dict)]  # in bucket order, as the tasks were
    if not marked:
        raise RdialError(f"every bucket failed (first: {failures[0].task}: {failures[0].message}); "
                         f"{corpus.shards_dir} left as it was")
    if failures:
        extra["failed_buckets"] = sorted({*extra["failed_buckets"], *(f.task.bucket for f in failures)})
    tmp_shards = temporary_name(corpus.shards_dir)
    tmp_rejects = temporary_name(corpus.root / "rejects")
    streams = [(s, tmp_shards / s, schema.SHARDS) for s in schema.SPLITS]
    if cfg.keep_rejects:
        streams.append((REJECTS, tmp_rejects, REJECTS_SCHEMA))
    files, writes = {}, []
    for stream, directory, target in streams:  # each file's rows, known from the counts
        directory.mkdir(parents=True, exist_ok=True)
        layout = shard_pieces([(r["bucket"], r["rows"][stream]) for r in marked], cfg.shard_rows)
        files[stream] = len(layout)
        writes += [ShardFileTask(directory / f"part-{i:05d}.parquet",
                                 [(staged_path(work, b, stream), a, z) for b, a, z in pieces],
                                 target, cfg.row_group_rows) for i, pieces in enumerate(layout)]
    mark = time.time()
    writes = link_pieces(writes)  # each staged file freed once the files that read it are written
    written, write_failures = _run(ctx, write_shard, writes, "writing shards")
    steps["write_shards"] = round(time.time() - mark, 3)
    peaks["write_shards"] = _max_peak(written)
    if write_failures:  # a file missing in the middle of a split: publish nothing
        shutil.rmtree(tmp_shards, ignore_errors=True)
        shutil.rmtree(tmp_rejects, ignore_errors=True)
        f = write_failures[0]
        raise RdialError(f"rdial filter: {f.task}: {f.message}; {corpus.shards_dir} left as it was")
    counts = pl.concat([pl.DataFrame(schema={"split": pl.String, "reason": pl.String, "len": pl.UInt32}),
                        *(r["counts"] for r in marked)])
    stats = summarize(counts)
    stats["preset"] = settings.preset
    stats["files"] = {s: files[s] for s in schema.SPLITS}
    stats.update(extra)
    per_month = [r["per_month"] for r in marked if r["per_month"] is not None]
    if per_month:  # DialoGPT keys: kept chains and digest-zeroed turns per month
        build_stats = corpus.root / "stats" / "build.json"
        totals = json.loads(build_stats.read_text()).get("totals", {}) if build_stats.is_file() else {}
        kept = pl.concat(per_month).group_by(discard_keys.MONTH).agg(pl.all().sum())
        stats["dialogpt_keys"] = discard_keys.coverage(totals, kept)
    replace_dir(tmp_shards, corpus.shards_dir)
    if cfg.keep_rejects:
        replace_dir(tmp_rejects, corpus.root / "rejects")
    elif (corpus.root / "rejects").exists():  # an older run's rejects would not match these shards
        shutil.rmtree(corpus.root / "rejects")
    return stats, failures


def summarize(counts: pl.DataFrame) -> dict:
    totals = counts.group_by("split", "reason").agg(pl.col("len").sum())
    splits = {s: {"in": 0, "out": 0, "dropped": {}} for s in schema.SPLITS}
    dropped: dict[str, int] = {}
    for split, reason, n in totals.sort("split", "reason", nulls_last=True).iter_rows():
        n = int(n)
        splits[split]["in"] += n
        if reason is None:
            splits[split]["out"] += n
        else:
            splits[split]["dropped"][reason] = n
            dropped[reason] = dropped.get(reason, 0) + n
    return {"chains_in": sum(s["in"] for s in splits.values()),
            "chains_out": sum(s["out"] for s in splits.values()),
            "dropped": dict(sorted(dropped.items())), "splits": splits}


def write_outputs(corpus: Corpus, cfg: FilterConfig, settings: RuleSettings, stats: dict) -> None:
    """The stage's config and stats beside the corpus' other stages (CORPUS/config, CORPUS/stats)."""
    save_config({"config": to_jsonable(cfg), "settings": to_jsonable(settings)},
                corpus.root / "config" / f"{STAGE}.json")
    # before the ledger entry: a run killed after it finds the stats of these very shards
    atomic_write_json(corpus.root / "stats" / f"{STAGE}.json", stats, sort_keys=False)
    corpus.write_metadata({STAGE: {"preset": settings.preset, "chains_out": stats["chains_out"],
                                   "shards": "shards"}})
