"""The build stage: every bucket of a corpus -> `chains/bucket=NNNNN.parquet`, one task per bucket.

    python -c "from pathlib import Path; from rdial.build.stage import *; \
print(run_build(BuildConfig(corpus=Path('corpus'))))"

What a run does:
  1. resolve the preset (--preset, else the --filter-config's base, else the one the corpus
     was built with, else rdial; another preset than the corpus' needs --force) and the config:
     explicit flags, else the preset's [build] defaults; save it as CORPUS/config/build.json
     and record the preset's comment rules in corpus.json (rdial/rules/record.py)
  2. plan: one task per bucket holding comments; a bucket is skipped when the ledger
     (CORPUS/_ledger/build/bucket=NNNNN.json) holds the same fingerprint (its input files'
     fingerprints + the build settings) and its chains file exists; chains of buckets that no
     longer hold comments are removed
  3. run the tasks (largest first) on the local pool or Ray; each task reads its bucket, builds
     its chains (bucket.py), publishes the Parquet file atomically, then records the ledger
  4. CORPUS/stats/build.json: totals over every bucket's ledger stats, and this run's counts
The lock, the ledger skip, progress, stats and the exit status are the stage scaffold's
(rdial/stage.py); this module supplies the plan, the task and the summary.

A failed bucket keeps its previous chains file and ledger entry (so it is retried next run) and
makes the exit status 1; the other buckets finish. A corpus without comments is exit status 1
(nothing to work on).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from rdial.build import keys_hook
from rdial.build.bucket import ChainOptions, build_chains
from rdial.build.dialogpt_keys import KeyIndex
from rdial.build.inputs import bucket_inputs, read_files, read_frame
from rdial.build.incremental import (FullRebuild, Increment, append_month, input_names,
                                    input_record, longest_record, plan_increment,
                                    pruned_inputs, rebuild_increment)
from rdial.config import arg, flag_of, require, save_config, to_jsonable
from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import ConfigError, InputError
from rdial.executor import default_workers
from rdial.ledger import Ledger, combine_fingerprints, file_fingerprint
from rdial.progress import Progress
from rdial.publish import atomic_path, sweep_temporaries
from rdial.stage import Stage, StageReport, TaskResult, run_stage
from rdial.rules import DEFAULT_PRESET, PRESETS, BuildDefaults, RuleSettings, load_settings
from rdial.rules.comment import comment_rule_reasons, comment_signature
from rdial.rules.record import check_build, preset_record, recorded_preset, write_record

STAGE = "build"
# Bump when the chains written for the same inputs and settings change: forces a rebuild.
BUILD_FORMAT = 1
# Settings a preset may default ([build], rdial.rules.BuildDefaults); None here means "not given".
DEFAULTS = tuple(f.name for f in dataclasses.fields(BuildDefaults))
ROW_GROUP = 64 * 1024  # chains per Parquet row group: fixed, so reruns write the same bytes


@dataclass(kw_only=True)
class BuildConfig:
    corpus: Path = field(metadata=arg("corpus directory written by `rdial extract`",
                                      positional=True))
    targets: str | None = field(default=None, metadata=arg(
        "which comments end a chain: leaves (no usable reply; DialoGPT) or all (every usable "
        "comment, as PolyAI's conversational-datasets) (default: leaves)",
        choices=("leaves", "all")))
    min_turns: int | None = field(default=None, metadata=arg(
        "drop chains with fewer turns (default: 2)", metavar="N"))
    max_turns: int | None = field(default=None, metadata=arg(
        "keep only the last N turns of a chain; 0 keeps them all (default: 0)", metavar="N"))
    per_month: bool | None = field(default=None, metadata=arg(
        "join threads within one month only (DialoGPT): a parent from another month counts as "
        "missing (default: threads join across every month in the corpus)"))
    with_title: bool | None = field(default=None, metadata=arg(
        "make the submission title the first turn of chains that start at a top-level comment "
        "of a thread whose submission (RS data) is in the corpus (default: off)"))
    preset: str | None = field(default=None, metadata=arg(
        f"preset ({', '.join(PRESETS)}; see `rdial filter --list-settings`): its comment rules "
        "mark comments unusable before chains are formed, and its [build] defaults apply to "
        "flags not given; recorded in the corpus, which keeps it (another one needs --force) "
        f"(default: the corpus' preset, else {DEFAULT_PRESET})", choices=PRESETS))
    filter_config: Path | None = field(default=None, metadata=arg(
        "TOML file of preset settings (as `rdial filter --config`), for the comment rules and "
        "[build] defaults", metavar="PATH"))
    dialogpt_keys: Path | None = field(default=None, metadata=arg(
        "DialoGPT's released keys (with a dialogpt preset): a folder as keys-full.tar extracts "
        "(data/keys/YYYY-MM.gz, applied by the month of each input) or one .gz for every month "
        "(keys-test.gz); only dep-listed comments exist, only keep-listed ones end a chain "
        "(docs/dialogpt.md; default: the preset TOML's dialogpt_keys, else none)",
        metavar="PATH"))
    workers: int = field(default_factory=default_workers, metadata=arg(
        "buckets built in parallel; peak memory is about one bucket per worker"))
    executor: str = field(default="local", metadata=arg(
        "where tasks run: local process pool, or a Ray cluster (RAY_ADDRESS)",
        choices=("local", "ray")))
    rebuild_share: float = field(default=0.3, metadata=arg(
        "a bucket whose only change is added files is rebuilt from its old chains (only the "
        "threads they reach) unless the added files hold more than this share of its comment "
        "rows, or the threads they reach more than (1 + SHARE) / 2: then it is built whole, "
        "which costs less there (measured in docs/build.md); the chains are the same bytes "
        "either way; 1 always takes the increment, 0 never (default: 0.3)",
        metavar="SHARE"))
    force: bool = field(default=False, metadata=arg(
        "rebuild every bucket, even those the ledger says are up to date; needed to change "
        "the corpus' preset"))

    def __post_init__(self):
        self.corpus = Path(self.corpus)
        require(self.targets in (None, "leaves", "all"), "--targets", "choose leaves or all")
        require(self.min_turns is None or self.min_turns >= 1, "--min-turns",
                "must be at least 1")
        require(self.max_turns is None or self.max_turns >= 0, "--max-turns",
                "must be 0 (no limit) or a number of turns")
        require(not self.max_turns or self.min_turns is None or self.max_turns >= self.min_turns,
                "--max-turns", f"{self.max_turns} is below --min-turns {self.min_turns}: "
                "no chain could be kept")
        require(self.filter_config is None or Path(self.filter_config).is_file(),
                "--filter-config", f"no such file: {self.filter_config}")
        require(self.workers >= 1, "--workers", "must be at least 1")
        require(0 <= self.rebuild_share <= 1, "--rebuild-share",
                f"{self.rebuild_share} is not a share between 0 and 1")
        require(self.executor in ("local", "ray"), "--executor", "choose local or ray")

    def resolved(self, defaults: BuildDefaults) -> "BuildConfig":
        """Fill every unset setting from the preset's [build] defaults."""
        names = {f.name: f for f in dataclasses.fields(self)}
        values = {n: getattr(defaults, n) for n in DEFAULTS if getattr(self, n) is None}
        try:
            return dataclasses.replace(self, **values)
        except ConfigError as exc:
            flags = ", ".join(flag_of(names[n]) for n in values)
            raise ConfigError(f"{exc} (after the preset's defaults for {flags})") from exc

    def chain_options(self) -> ChainOptions:
        missing = [name for name in DEFAULTS if getattr(self, name) is None]
        if missing:
            raise ValueError(f"resolve the config first; unset: {missing}")
        return ChainOptions(targets=self.targets, min_turns=self.min_turns,
                            max_turns=self.max_turns, per_month=self.per_month,
                            with_title=self.with_title)


@dataclass(frozen=True)
class BucketTask:
    """Everything a worker needs (picklable; the worker opens the files itself)."""

    root: Path
    bucket: int
    comment_files: tuple[Path, ...]
    submission_files: tuple[Path, ...]
    options: ChainOptions
    settings: RuleSettings   # the preset's settings: its comment rules run in the worker
    fingerprint: str
    size: int  # input bytes, to run the largest first
    keys: KeyIndex | None = None  # DialoGPT's keys, indexed per bucket (dialogpt_keys.py)
    settings_hash: str = ""
    inputs: tuple[tuple[str, str], ...] = ()  # (relative path, fingerprint) of the files now
    increment: Increment | None = None  # only added files since the last build (incremental.py)
    pruned: dict = field(default_factory=dict)  # the ledger's records of inputs `rdial prune` removed
    rebuild_share: float = 1.0  # above it, an increment is built whole (BuildConfig.rebuild_share)

    @property
    def key(self) -> str:
        return f"bucket={self.bucket:05d}"


class BuildStage(Stage):
    """`rdial build` as the stage scaffold runs it: one task per bucket holding comments."""

    name = STAGE
    unit = "buckets"

    def __init__(self, cfg: BuildConfig, *, progress: bool = True):
        self.given = cfg  # resolved in plan(), once the corpus (and the preset it records) is open
        self.cfg: BuildConfig | None = None
        self.settings: RuleSettings | None = None
        self.keys: KeyIndex | None = None
        self.workers, self.executor, self.force = cfg.workers, cfg.executor, cfg.force
        self.progress = progress
        self.buckets: list[int] = []
        self.removed = 0

    def sweep(self, corpus: Corpus) -> None:
        sweep_temporaries(corpus.chains_dir)

    def plan(self, corpus: Corpus) -> list[BucketTask]:
        ledger = Ledger(corpus.root, STAGE)
        # a bucket whose every comment file `rdial prune` removed keeps its chains
        self.buckets = sorted(set(corpus.nonempty_buckets("comments"))
                              | {_bucket_of(k) for k, e in ledger.entries().items() if pruned_inputs(e)})
        given = self.given
        settings = load_settings(given.preset, given.filter_config, fallback=recorded_preset(corpus))
        check_build(corpus, settings.preset, "--preset" if given.preset else "--filter-config",
                    given.force)
        self.settings, self.cfg = settings, given.resolved(settings.build)
        self.removed = remove_stale(corpus, ledger, set(self.buckets))
        self.keys = keys_hook.prepare(corpus, self.cfg, settings,
                                      log=print if self.progress and not self.quiet else None)
        settings_hash = build_settings_hash(self.cfg, settings, self.keys)
        return plan_tasks(corpus, self.buckets, self.cfg, settings, settings_hash, self.keys)

    def save_config(self, corpus: Corpus) -> None:
        save_config(self.cfg, corpus.root / "config" / f"{STAGE}.json")
        write_record(corpus, preset_record(self.settings, self.cfg.filter_config,
                                           to_jsonable(self.cfg.chain_options())))

    def up_to_date(self, corpus: Corpus, task: BucketTask, entry: dict) -> bool:
        return corpus.chains_file(task.bucket).exists()

    @staticmethod
    def task(task: BucketTask) -> dict:
        return build_bucket(task)

    def on_result(self, meter: Progress, task: BucketTask, result: TaskResult) -> None:
        if result.failed:
            self.say(meter, f"build: bucket {task.bucket:05d} failed: {result.message}")
            meter.update(1)
        else:
            meter.update(1, comments=result.stats.get("records", 0),
                         chains=result.stats.get("chains", 0))

    def nothing_to_do(self, corpus: Corpus) -> str:
        return (f"build: {corpus.root} holds no comments yet; run `rdial extract RC_... --out "
                f"{corpus.root}` first")

    def finish(self, corpus: Corpus, report: StageReport) -> dict:
        report.removed = self.removed
        report.totals = total_stats(Ledger(corpus.root, STAGE), self.buckets)
        keys_hook.add_coverage(report.totals, self.keys, self.buckets)
        failed = [{"bucket": _bucket_of(r.name), "error": r.message} for r in report.failed]
        corpus.write_metadata({STAGE: {"chains": report.totals.get("chains", 0),
                                       "buckets": len(self.buckets),
                                       "failed_buckets": len(failed)}})
        threads_only = [r for r in report.done if r.stats.get("rebuilt") == "threads"]
        because: dict = {}
        for r in report.done:
            if r.stats.get("rebuilt") == "full":
                why = r.stats.get("full_because") or "not_incremental"
                because[why] = because.get(why, 0) + 1
        run = {"buckets": len(report.results), "built": len(report.done),
               "built_from_chains": len(threads_only),
               # why the others were built whole: not_incremental (a first build, changed
               # inputs or settings, --force, DialoGPT's keys), added_share / touched_share
               # (the increment would cost more: --rebuild-share), longest, months
               "built_whole": dict(sorted(because.items())),
               "threads_rebuilt": sum(r.stats.get("threads_rebuilt", 0) for r in report.done),
               "skipped": len(report.skipped), "removed_stale": self.removed,
               "seconds": report.seconds, "failed": failed}
        return {"stage": STAGE, "run": run, "totals": report.totals}

    def summary(self, report: StageReport) -> str:
        t = report.totals
        threads_only = sum(r.stats.get("rebuilt") == "threads" for r in report.done)
        costly = sum(r.stats.get("full_because") in ("added_share", "touched_share")
                     for r in report.done)
        lines = [f"build: {len(report.results)} buckets ({len(report.done)} built"
                 + (f", {threads_only} of them from their chains (only the threads new inputs reach)"
                    if threads_only else "")
                 + (f", {costly} whole because the threads new inputs reach hold more than "
                    f"--rebuild-share {self.cfg.rebuild_share:g} of their rows" if costly else "") + ", "
                 f"{len(report.skipped)} up to date, {len(report.failed)} failed, "
                 f"{report.removed} stale removed) in {report.seconds:.1f}s",
                 f"build: {t.get('comments', 0):,} comments ({t.get('duplicates', 0):,} duplicate "
                 f"records dropped), {t.get('usable', 0):,} usable -> {t.get('chains', 0):,} "
                 f"chains, {t.get('turns', 0):,} turns"]
        lines += [f"build: bucket {_bucket_of(r.name):05d} failed: {r.message}" for r in report.failed]
        return "\n".join(lines + report.problems)


def _bucket_of(key: str) -> int:
    return int(key.split("=", 1)[1])


def run_build(cfg: BuildConfig, *, progress: bool = True, locked: bool = False) -> StageReport:
    """Build the chains of every bucket of `cfg.corpus`; see the module docstring."""
    corpus = Corpus.open(cfg.corpus)
    return run_stage(BuildStage(cfg, progress=progress), corpus, locked=locked)


def build_settings_hash(cfg: BuildConfig, settings: RuleSettings, keys=None) -> str:
    """What, besides the input files, decides a bucket's chains (the chain rules do not)."""
    semantics = {"format": BUILD_FORMAT, "options": to_jsonable(cfg.chain_options()),
                 "comments": comment_signature(settings)}
    if keys is not None:
        semantics["dialogpt_keys"] = keys.fingerprint
    return hashlib.blake2b(json.dumps(semantics, sort_keys=True).encode(), digest_size=16).hexdigest()


def plan_tasks(corpus: Corpus, buckets: list[int], cfg: BuildConfig, settings: RuleSettings,
               settings_hash: str, keys: KeyIndex | None = None) -> list[BucketTask]:
    """One task per bucket, largest first; the scaffold skips those the ledger has done.

    The fingerprint covers the files there now and those `rdial prune` removed (as the ledger
    recorded them), so a prune alone does not make a bucket stale."""
    ledger = Ledger(corpus.root, STAGE)
    mode = None if keys is not None or cfg.force else "months" if cfg.per_month else "threads"
    tasks = []
    for bucket in buckets:
        comment_files, submission_files = bucket_inputs(corpus, bucket)
        files = comment_files + submission_files
        now = {str(p.relative_to(corpus.root)): file_fingerprint(p) for p in files}
        entry = ledger.get(f"bucket={bucket:05d}")
        pruned = {rel: (entry or {})["inputs"][rel] for rel in pruned_inputs(entry) if rel not in now}
        parts = {**now, **{rel: meta["fingerprint"] for rel, meta in pruned.items()}}
        parts["build-settings"] = settings_hash
        tasks.append(BucketTask(root=corpus.root, bucket=bucket, comment_files=tuple(comment_files),
                                submission_files=tuple(submission_files),
                                options=cfg.chain_options(), settings=settings,
                                fingerprint=combine_fingerprints(parts),
                                size=sum(p.stat().st_size for p in files), keys=keys,
                                settings_hash=settings_hash, inputs=tuple(sorted(now.items())),
                                increment=plan_increment(entry, now, settings_hash, mode)
                                if corpus.chains_file(bucket).exists() else None,
                                pruned=pruned, rebuild_share=cfg.rebuild_share))
    return sorted(tasks, key=lambda t: (-t.size, t.bucket))


def remove_stale(corpus: Corpus, ledger: Ledger, buckets: set[int]) -> int:
    """Chains (and ledger entries) of buckets that hold no comments any more."""
    removed = 0
    if corpus.chains_dir.exists():
        for path in sorted(corpus.chains_dir.glob("bucket=*.parquet")):
            bucket = int(path.stem.split("=", 1)[1])
            if bucket not in buckets:
                path.unlink()
                removed += 1
    for key in ledger.entries():
        if int(key.split("=", 1)[1]) not in buckets:
            ledger.forget(key)
    for path in sorted(thread_counts_dir(corpus.root).glob("bucket=*.parquet")):
        if int(path.name.split("=", 1)[1].split(".", 1)[0]) not in buckets:
            path.unlink()
    return removed


def thread_counts_dir(root: Path) -> Path:
    """Per bucket, its stats' counters per thread (bucket.thread_counts), which an increment
    subtracts for the threads it rebuilds instead of building them from the old files:
    `bucket=NNNNN.<fingerprint>.parquet`, named in the ledger entry ("threads")."""
    return root / "_ledger" / STAGE / "threads"


def build_bucket(task: BucketTask) -> dict:
    """The worker: read one bucket (or, when only files were added, the threads they reach:
    incremental.py), build its chains, publish them, record the ledger."""
    settings = task.settings
    rules = ((lambda comments, subs: comment_rule_reasons(comments, subs, settings))
             if settings.comment_rules else None)
    final = Corpus(root=task.root, buckets=0).chains_file(task.bucket)
    matcher = keys_hook.matcher(task.keys, task.bucket)
    inputs = dict(task.inputs)
    known = task.increment.inputs if task.increment else {}
    records = {rel: meta for rel, meta in known.items() if rel in inputs or meta.get("pruned")}
    rebuilt, threads, way = None, None, {"way": "full", "why": "not_incremental"}
    # the counters per thread: kept for the threads mode (an increment of --per-month appends)
    keep_threads = not task.options.per_month and task.keys is None
    if task.increment is not None:
        try:
            if task.increment.mode == "months":
                done = append_month(task.root, task.increment, list(task.submission_files), final,
                                    task.options, rules, matcher)
            else:
                done = rebuild_increment(task.root, task.increment, list(task.comment_files),
                                         list(task.submission_files), final, task.options, rules,
                                         matcher, full_share=task.rebuild_share)
            table, stats, longest, threads = done.table, done.stats, done.longest, done.threads
            rebuilt = {"rebuilt": "threads", "threads_rebuilt": len(done.touched)}
            way = {"way": "threads", **({"shares": done.shares} if done.shares else {})}
            records.update({rel: {"fingerprint": inputs[rel], **r} for rel, r in done.ranges.items()})
        except FullRebuild as exc:
            way = {"way": "full", "why": exc.why, **({"shares": exc.shares} if exc.shares else {})}
    if rebuilt is None:
        if task.pruned:
            names = input_names(task.pruned)
            raise InputError(
                f"a full rebuild (changed inputs or settings, or --force) needs "
                f"{', '.join(names)}, which `rdial prune` removed; extract {'it' if len(names) == 1 else 'them'} "
                f"again (rdial extract {' '.join(names)} --out CORPUS --force), then build")
        frames = {p: read_frame(p, schema.SUBMISSIONS if p in task.submission_files
                                else schema.COMMENTS) for p in task.comment_files + task.submission_files}
        # an unchanged file's ranges as the ledger has them; the others' from their rows
        records = {rel: records[rel] if rel in records and not records[rel].get("pruned")
                   and records[rel].get("fingerprint") == inputs[rel]
                   else input_record(task.root, rel, inputs[rel], frame)
                   for rel, frame in ((str(p.relative_to(task.root)), f) for p, f in frames.items())}
        comments = read_files([], schema.COMMENTS) if not task.comment_files else \
            pl.concat([frames[p] for p in task.comment_files], rechunk=False)
        subs = pl.concat([frames[p] for p in task.submission_files], rechunk=False) \
            if task.submission_files else None
        del frames
        per_thread: dict = {}
        counted: list | None = [] if keep_threads else None
        table, stats = build_chains(comments, subs, task.options, rules, matcher, longest=per_thread,
                                    threads=counted)
        threads = counted[0] if counted else None
        longest = longest_record(per_thread)
        rebuilt = {"rebuilt": "full", "threads_rebuilt": len(per_thread)}
    rebuilt["full_because"] = way.get("why") if way["way"] == "full" else None
    for rel, fp in inputs.items():
        if rel not in records:
            records[rel] = input_record(task.root, rel, fp)
    counts_dir = thread_counts_dir(task.root)
    counts_file = counts_dir / f"{task.key}.{task.fingerprint[:16]}.parquet"
    if threads is not None:  # before the ledger names it; a killed run leaves the old one named
        counts_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(counts_file) as tmp:
            threads.write_parquet(tmp, compression="zstd")
    write_chains(table, final)
    extra = {"settings": task.settings_hash, "inputs": dict(sorted(records.items())), **longest,
             "rebuilt": way}
    if threads is not None:
        extra["threads"] = str(counts_file.relative_to(task.root))
    Ledger(task.root, STAGE).record(
        task.key, task.fingerprint, outputs=[str(final.relative_to(task.root))], stats=stats,
        extra=extra)
    for old in counts_dir.glob(f"{task.key}.*.parquet") if counts_dir.exists() else ():
        if threads is None or old != counts_file:
            old.unlink(missing_ok=True)
    return {**stats, **rebuilt}


def write_chains(table, path: Path) -> None:
    """Publish a chains table atomically, always with the same options (same bytes on rerun)."""
    with atomic_path(path) as tmp:
        # dictionaries only where values repeat (texts and ids rarely do): half the write time
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP,
                       use_dictionary=["link_id", "subreddit"])


MAX_KEYS = {"longest_chain"}


def merge_stats(into: dict, stats: dict) -> dict:
    """Sum counters (nested dicts too); keep the maximum of MAX_KEYS."""
    for key, value in stats.items():
        if isinstance(value, dict):
            merge_stats(into.setdefault(key, {}), value)
        elif key in MAX_KEYS:
            into[key] = max(into.get(key, 0), value)
        else:
            into[key] = into.get(key, 0) + value
    return into


def total_stats(ledger: Ledger, buckets: list[int]) -> dict:
    totals: dict = {}
    entries = ledger.entries()
    for bucket in buckets:
        entry = entries.get(f"bucket={bucket:05d}")
        if entry is not None:
            merge_stats(totals, entry.get("stats", {}))
    return totals
