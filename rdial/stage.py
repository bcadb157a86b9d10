"""The stage scaffold: what extract, build and filter share, written once.

    rdial extract dumps/ --out corpus && rdial build corpus && rdial filter corpus

Every corpus stage is the same run: open the corpus -> hold its lock -> start the backend (a
wrong RAY_ADDRESS fails before anything changes) -> sweep what a killed run left -> plan the
tasks -> skip those the ledger records as done with the same fingerprint -> run the rest on the
executor with a progress line -> write the stage's stats and record the run. `run_stage` does
that; a stage (a `Stage` subclass) supplies only what is its own:

    plan(corpus)            -> tasks, each with `.key` (ledger key) and `.fingerprint`
    task                    the worker function, task -> TaskResult (or a stats dict)
    up_to_date(corpus, t)   besides the ledger: are the task's outputs there?
    run(ctx, todo)          how the tasks run (default: all at once on the executor; filter
                            runs three steps)
    finish(corpus, report)  the stage's stats document (stats/<stage>.json) and metadata
    summary(report)         what the command prints

and gets back one `StageReport`. The exit status is decided here, once, for every stage:

    0  every task done or up to date
    1  partial: a task failed (damaged input, failed bucket), an input gave no good line, or
       the stage had nothing to work on; each is named in the summary and in
       stats/<stage>.json ("problems"), and the other tasks went on
    2  usage, configuration or fatal error (unwritable output), one line
    75 the corpus is held by another run (EX_TEMPFAIL: try again later)
    130 interrupted

Each run's outcome (finished, seconds, exit status, problems) is recorded in corpus.json under
"runs", which `rdial status` shows.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rdial.corpus import Corpus
from rdial.errors import RdialError
from rdial.executor import TaskFailure, run_tasks, start_backend, task_queue
from rdial.ledger import Ledger
from rdial.progress import Progress
from rdial.publish import TMP_PREFIX, atomic_write_json, sweep_temporaries

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


@dataclass
class TaskResult:
    """One task's outcome: `name` is its ledger key (an input file, `bucket=00017`, `shards`)."""

    name: str
    status: str                 # "done", "skipped" (up to date), "failed" or "error" (fatal)
    stats: dict = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "error")


@dataclass
class StageReport:
    """What one stage run did; the same type for every stage."""

    stage: str
    corpus: Path
    results: list[TaskResult] = field(default_factory=list)
    totals: dict = field(default_factory=dict)     # counts over the whole corpus (or run)
    stats: dict = field(default_factory=dict)      # what stats/<stage>.json holds
    problems: list[str] = field(default_factory=list)  # exit-1 causes beside failed tasks
    notes: list[str] = field(default_factory=list)     # said on the way, not failures
    removed: int = 0                               # stale outputs removed (build)
    seconds: float = 0.0
    summary_text: str = ""

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.failed]

    @property
    def done(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "done"]

    @property
    def skipped(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "skipped"]

    @property
    def up_to_date(self) -> bool:
        """Nothing ran: every task was already done (and nothing failed)."""
        return bool(self.results) and len(self.skipped) == len(self.results)

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.failed or self.problems else EXIT_OK

    def result(self, name: str) -> TaskResult:
        return next(r for r in self.results if r.name == name)

    def summary(self) -> str:
        return self.summary_text

    def __str__(self) -> str:
        return self.summary_text


@dataclass
class StageContext:
    """What `Stage.run` gets: the corpus, the progress switch, and `map` to run tasks."""

    corpus: Corpus
    workers: int
    executor: str
    progress: bool
    skipped: list[TaskResult] = field(default_factory=list)  # up to date, not run
    notes: list[str] = field(default_factory=list)
    quiet: bool = False  # `rdial run` under cron: notes go to the report only

    def log(self, message: str) -> None:
        """A note for the user (a skipped input, a file that is no dump), kept in the report."""
        self.notes.append(message)
        if not self.quiet:
            Progress.message(message)

    def map(self, fn: Callable, tasks: list, desc: str, *, unit: str = "tasks",
            on_result: Callable | None = None) -> list:
        """Run `fn` over `tasks` with a progress line; TaskFailures stay in the results."""
        meter = Progress(desc, total=len(tasks), unit=unit, enabled=self.progress and bool(tasks))

        def each(task, result):
            if on_result:
                on_result(meter, task, result)
            else:
                meter.update(1)
        results = run_tasks(fn, tasks, workers=self.workers, backend=self.executor, on_result=each)
        meter.close()
        return results


class Stage:
    """A corpus stage, as `run_stage` drives it. Subclasses set `name` and fill in the hooks."""

    name: str = ""
    unit: str = "tasks"           # what the progress line counts
    live_progress: bool = False   # tasks carry `progress_queue` and send (n, extras) deltas
    workers: int = 1
    executor: str = "local"
    force: bool = False
    progress: bool = True
    quiet: bool = False           # no notes on stderr (they stay in the report)

    # --- what the stage supplies -------------------------------------------------------------
    def sweep(self, corpus: Corpus) -> None:
        """Remove what a killed run of this stage left behind."""

    def plan(self, corpus: Corpus) -> list:
        raise NotImplementedError

    def save_config(self, corpus: Corpus) -> None:
        """Write the resolved config to CORPUS/config/<stage>.json."""

    @staticmethod
    def task(task) -> Any:
        raise NotImplementedError

    def up_to_date(self, corpus: Corpus, task, entry: dict) -> bool:
        """Besides a ledger entry with the task's fingerprint: are its outputs in place?"""
        return True

    def skipped_result(self, corpus: Corpus, task, entry: dict) -> TaskResult:
        return TaskResult(task.key, "skipped", entry.get("stats", {}), entry.get("outputs", []),
                          "unchanged since the last run")

    def nothing_to_do(self, corpus: Corpus) -> str:
        """The problem reported when the plan holds no task at all."""
        return f"{self.name}: nothing to work on in {corpus.root}"

    def progress_total(self, todo: list) -> float | None:
        return len(todo)

    def on_result(self, meter: Progress, task, result: TaskResult) -> None:
        """Called in the parent as each task ends: advance the meter, log a line."""
        if result.failed:
            self.say(meter, f"{self.name}: {result.name} failed: {result.message}")
        if not self.live_progress:
            meter.update(1)

    def say(self, meter: Progress, text: str) -> None:
        """A line about one task, above the progress line (not when quiet: `rdial run` under
        cron names the failures once, in its summary)."""
        if not self.quiet:
            meter.write(text)

    def problems(self, result: TaskResult) -> list[str]:
        """Exit-1 causes in a task that finished (e.g. an input without one good line)."""
        return []

    def run(self, ctx: StageContext, todo: list) -> list[TaskResult]:
        """Run the tasks to do; the default runs `task` over all of them on the executor."""
        return self._run_all(ctx, todo)

    def finish(self, corpus: Corpus, report: StageReport) -> dict | None:
        """Totals, metadata; returns the stats document for stats/<stage>.json (None: keep)."""
        return None

    def summary(self, report: StageReport) -> str:
        done, skipped = len(report.done), len(report.skipped)
        return (f"{self.name}: {len(report.results)} tasks ({done} done, {skipped} up to date, "
                f"{len(report.failed)} failed) in {report.seconds:.1f} s")

    # --- shared machinery ----------------------------------------------------------------------
    def as_result(self, task, raw) -> TaskResult:
        """A worker's return value as a TaskResult: a TaskFailure (a bug, a dead worker, an
        RdialError raised by the task) is a failed task, a dict the done task's stats."""
        if isinstance(raw, TaskResult):
            return raw
        if isinstance(raw, TaskFailure):
            return TaskResult(task.key, "failed", message=raw.message)
        return TaskResult(task.key, "done", dict(raw or {}))

    def _run_all(self, ctx: StageContext, todo: list) -> list[TaskResult]:
        if not todo:
            return []
        meter = Progress(self.name, total=self.progress_total(todo), unit=self.unit,
                         enabled=ctx.progress)
        self._meter = meter
        try:
            if self.live_progress:
                return self._run_live(ctx, todo, meter)
            raw = run_tasks(self.task, todo, workers=ctx.workers, backend=ctx.executor,
                            on_result=lambda t, r: self.on_result(meter, t, self.as_result(t, r)))
            return [self.as_result(t, r) for t, r in zip(todo, raw)]
        finally:
            meter.close()

    def _run_live(self, ctx: StageContext, todo: list, meter: Progress) -> list[TaskResult]:
        with task_queue(ctx.executor, workers=ctx.workers, tasks=len(todo)) as updates:
            todo = [dataclasses.replace(t, progress_queue=updates) for t in todo]
            pump = ProgressPump(updates, meter)
            try:
                raw = run_tasks(self.task, todo, workers=ctx.workers, backend=ctx.executor,
                                on_result=lambda t, r: self.on_result(meter, t, self.as_result(t, r)))
            finally:
                pump.stop()
        return [self.as_result(t, r) for t, r in zip(todo, raw)]


class ProgressPump:
    """Folds (n, {extra: n}) deltas that running tasks put into a queue into the parent's
    progress line, from a thread, while run_tasks waits."""

    def __init__(self, updates, progress: Progress):
        self.updates, self.progress = updates, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(timeout=0.2)
        self._drain(timeout=0)

    def _drain(self, timeout: float) -> None:
        try:
            while True:
                n, extra = self.updates.get(timeout=timeout) if timeout else self.updates.get_nowait()
                self.progress.update(n, **extra)
                timeout = 0
        except (queue.Empty, EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - a closed manager queue ends the pump
            return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_stage(stage: Stage, corpus: Corpus, *, locked: bool = False) -> StageReport:
    """One run of `stage` on `corpus`; see the module docstring. `locked=True`: the caller
    (`rdial run`) already holds the corpus lock for the whole pipeline."""
    start = time.monotonic()
    if locked:
        return _run_locked(stage, corpus, start)
    with corpus.lock(stage.name):
        return _run_locked(stage, corpus, start)


def _run_locked(stage: Stage, corpus: Corpus, start: float) -> StageReport:
    start_backend(stage.executor, workers=stage.workers)  # a bad RAY_ADDRESS fails before any change
    sweep_stage(corpus, stage.name)
    stage.sweep(corpus)
    tasks = stage.plan(corpus)
    stage.save_config(corpus)
    ledger = Ledger(corpus.root, stage.name)
    skipped, todo = {}, []
    for task in tasks:
        if isinstance(task, TaskResult):  # decided while planning (an input that cannot be read)
            continue
        entry = ledger.get(task.key)
        if not stage.force and entry is not None and entry.get("fingerprint") == task.fingerprint \
                and stage.up_to_date(corpus, task, entry):
            skipped[task.key] = stage.skipped_result(corpus, task, entry)
        else:
            todo.append(task)
    report = StageReport(stage=stage.name, corpus=corpus.root)
    if not tasks:
        report.problems.append(stage.nothing_to_do(corpus))
    ctx = StageContext(corpus=corpus, workers=stage.workers, executor=stage.executor,
                       progress=stage.progress, skipped=list(skipped.values()), quiet=stage.quiet)
    ran = {r.name: r for r in stage.run(ctx, todo)}
    report.results = [t if isinstance(t, TaskResult) else skipped.get(t.key) or ran.pop(t.key)
                      for t in tasks]
    report.results += ran.values()  # beyond the plan (filter: the buckets that failed)
    report.notes = ctx.notes
    for r in report.results:
        if r.status == "done":
            report.problems.extend(stage.problems(r))
    report.seconds = round(time.monotonic() - start, 3)
    stats = stage.finish(corpus, report)
    report.seconds = round(time.monotonic() - start, 3)
    record_run(corpus, report, stats)
    report.summary_text = stage.summary(report)
    fatal = [r for r in report.results if r.status == "error"]
    if fatal:
        raise RdialError(fatal[0].message)
    return report


def sweep_stage(corpus: Corpus, stage: str) -> int:
    """Remove the temporaries a killed run of `stage` left among the files every stage writes
    (ledger entries, stats/<stage>.json, config/<stage>.json, corpus.json); a stage's own
    leftovers (staging, scratch, half-written shards) are its `sweep`. (Two runs of one stage
    into one corpus at once cannot happen: the lock.)"""
    found = sweep_temporaries(Ledger(corpus.root, stage).dir)
    for directory in (corpus.root / "stats", corpus.root / "config", corpus.root):
        for tmp in directory.glob(f"{TMP_PREFIX}*-{stage}.json") if directory.exists() else ():
            tmp.unlink(missing_ok=True)
            found += 1
    for tmp in corpus.root.glob(f"{TMP_PREFIX}*-corpus.json"):
        tmp.unlink(missing_ok=True)
        found += 1
    return found


def record_run(corpus: Corpus, report: StageReport, stats: dict | None) -> None:
    """stats/<stage>.json (with the exit status and what made it non-zero) and corpus.json's
    "runs" entry for the stage, which `rdial status` reads."""
    fatal = any(r.status == "error" for r in report.results)
    outcome = {"exit_status": EXIT_ERROR if fatal else report.exit_code, "problems": list(report.problems),
               "failed_tasks": [{"task": r.name, "error": r.message} for r in report.failed]}
    if stats is not None:
        report.stats = stats
        atomic_write_json(corpus.root / "stats" / f"{report.stage}.json", {**stats, **outcome},
                          sort_keys=False)
    runs = dict(corpus.metadata().get("runs", {}))
    runs[report.stage] = {"finished": int(time.time()), "seconds": report.seconds,
                          "tasks": len(report.results), "done": len(report.done),
                          "up_to_date": len(report.skipped), **outcome}
    corpus.write_metadata({"runs": runs})


__all__ = ["Stage", "StageContext", "StageReport", "TaskResult", "ProgressPump", "run_stage",
           "EXIT_OK", "EXIT_PARTIAL", "EXIT_ERROR", "EXIT_LOCKED", "EXIT_INTERRUPTED"]
