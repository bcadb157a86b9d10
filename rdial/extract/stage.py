"""The extract stage: dump files -> bucketed comments and submissions tables.

    python -c "from pathlib import Path; from rdial.extract.stage import ExtractConfig, run_extract; \\
               print(run_extract(ExtractConfig(inputs=[Path('RC_2005-12.zst')], out=Path('corpus'))).summary())"

One task per input file, largest first, on the local pool (or Ray), driven by the stage scaffold
(rdial/stage.py: lock, sweep, ledger, progress, stats, exit status). A task streams its file
(reader thread -> line blocks -> --threads parse threads -> bucket writer), stages every output,
then publishes: bucket files by rename, quarantine, stats, and last the ledger entry. A rerun
skips inputs whose ledger entry matches the file's fingerprint; a killed task has no entry, so it
runs again from scratch and overwrites its own files: killed-and-rerun ends identical to
uninterrupted.

The modules, one job each:
    config.py   ExtractConfig (the flags)
    inputs.py   discovery: which files are dumps, their format and kind, which cannot be read
    plan.py     InputTask per input and the fingerprint the ledger compares (parent)
    task.py     extract_input: one input, staged then published, ledger last (worker)
    stream.py   reader -> line blocks -> parse threads -> bucket writer (worker)
    decode_procs.py  the blocks of one input decoded in worker processes (--decode-procs)
    publish.py  staged bucket and quarantine files -> the corpus, by rename (worker)
    stage.py    this file: the stage as the scaffold runs it, and the run summary

Per input, in CORPUS:
    comments/bucket=NNNNN/<input>.parquet   (or submissions/...; none for an empty bucket)
    quarantine/<input>.jsonl                bad lines verbatim (only when there are some)
    stats/extract/<input>.json              lines, bytes, good, blank, quarantined by reason, ...
Per run: config/extract.json (resolved config), stats/extract.json (summary of this run).

A damaged compressed input keeps the lines before the damage that its codec's checks vouch for
(rows after that point are held until the input ends, then dropped and counted as
untrusted_rows), is reported failed (exit status 1) and has no ledger entry, so the next run
tries it again; so is a dump that cannot be read at all (inputs.py: named, or found in a
directory), and an input none of whose lines gave a row. Output that
cannot be written (full disk, read-only) stops the run with one line (exit status 2) and
publishes nothing of that input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
from pathlib import Path

from rdial.config import save_config
from rdial.corpus import METADATA, Corpus, buckets_for_inputs
from rdial.extract.config import STAGE, ExtractConfig
from rdial.extract.inputs import find_inputs
from rdial.extract.plan import (InputTask, decode_procs_for, plan, settings_fingerprint,
                               threads_per_input)
from rdial.extract.task import extract_input, staging_dir
from rdial.ledger import Ledger
from rdial.progress import Progress
from rdial.publish import sweep_temporaries
from rdial.stage import Stage, StageContext, StageReport, TaskResult, run_stage

class ExtractStage(Stage):
    name = STAGE
    unit = "B"
    live_progress = True  # tasks send (compressed bytes, lines) as they read

    def __init__(self, cfg: ExtractConfig, inputs: list[tuple[Path, str, str]],
                 unreadable: list[tuple[Path, str]] = (), not_dumps: list[str] = ()):
        self.cfg, self.inputs = cfg, inputs
        self.unreadable, self.not_dumps = list(unreadable), list(not_dumps)
        self.workers, self.executor = cfg.workers, cfg.executor
        self.force, self.progress = cfg.force, cfg.progress
        self.kinds: dict[str, str] = {}

    def sweep(self, corpus: Corpus) -> None:
        sweep_leftovers(corpus)

    def plan(self, corpus: Corpus) -> list:
        tasks = plan(self.cfg, corpus, self.inputs)
        self.kinds = {t.name: t.kind for t in tasks}
        # a named file that is no readable dump: failed before it starts, the others go on
        return tasks + [TaskResult(p.name, "failed", message=msg) for p, msg in self.unreadable]

    def save_config(self, corpus: Corpus) -> None:
        save_config(self.cfg, corpus.root / "config" / f"{STAGE}.json")

    task = staticmethod(extract_input)

    def progress_total(self, todo: list[InputTask]) -> float | None:
        return sum(t.path.stat().st_size for t in todo) or None

    def run(self, ctx: StageContext, todo: list[InputTask]) -> list[TaskResult]:
        for note in self.not_dumps:
            ctx.log(f"extract: {note}")
        for path, why in self.unreadable:
            ctx.log(f"extract: {path.name}: FAILED: {why}")
        for r in ctx.skipped:
            ctx.log(f"extract: {r.name}: skipped (unchanged; --force redoes it)")
        threads = threads_per_input(self.cfg, len(todo))
        return self._run_all(ctx, [dataclasses.replace(
            t, threads=threads, decode_procs=decode_procs_for(self.cfg, t, len(todo))) for t in todo])

    def on_result(self, meter: Progress, task: InputTask, result: TaskResult) -> None:
        self.say(meter, _describe(task.kind, result))

    def problems(self, result: TaskResult) -> list[str]:
        s = result.stats
        if s.get("good", 1) == 0:
            why = (f"all {s['lines']:,} lines quarantined ({_top_reasons(s)})" if s.get("lines")
                   else "the input holds no line")
            return [f"extract: {result.name}: no good line: {why}"]
        return []

    def finish(self, corpus: Corpus, report: StageReport) -> dict:
        report.totals = _totals(report.results)
        done = sorted(Ledger(corpus.root, STAGE).entries())
        corpus.write_metadata({STAGE: {"inputs": done}})
        return {
            "stage": STAGE, "seconds": report.seconds, "totals": report.totals,
            "inputs": {r.name: {"status": r.status, "message": r.message,
                                **{k: r.stats.get(k) for k in ("kind", "lines", "good", "blank",
                                                               "quarantined_total", "seconds")}}
                       for r in report.results},
            "failed": [r.name for r in report.failed],
        }

    def summary(self, report: StageReport) -> str:
        t = report.totals
        lines = [f"extract: {len(report.results)} inputs ({len(report.done)} done, "
                 f"{len(report.skipped)} skipped, {len(report.failed)} failed): {t['lines']:,} "
                 f"lines, {t['good']:,} rows, {t['quarantined_total']:,} quarantined, "
                 f"{report.seconds:.1f} s -> {report.corpus}"]
        return "\n".join(lines + report.problems)


def _totals(results: list[TaskResult]) -> dict:
    keys = ("lines", "good", "blank", "quarantined_total")
    return {k: sum(r.stats.get(k, 0) for r in results) for k in keys}


def _top_reasons(stats: dict) -> str:
    reasons = sorted(stats.get("quarantined", {}).items(), key=lambda kv: -kv[1])[:2]
    return ", ".join(f"{n:,} {reason}" for reason, n in reasons) or "none"


def _describe(kind: str, r: TaskResult) -> str:
    s = r.stats
    if r.status == "done":
        return (f"extract: {r.name}: {s['lines']:,} lines -> {s['good']:,} {kind}, "
                f"{s['quarantined_total']:,} quarantined, {s['blank']:,} blank, {s['seconds']:.1f} s")
    if r.status == "failed" and s:
        dropped = (f", {s['untrusted_rows']:,} from line {s['untrusted_from_line']:,} on not kept"
                   if s.get("untrusted_rows") else "")
        return (f"extract: {r.name}: FAILED: {r.message} ({s['good']:,} {kind} kept "
                f"from before the damage{dropped})")
    return f"extract: {r.name}: FAILED: {r.message}"


def run_extract(cfg: ExtractConfig, *, locked: bool = False) -> StageReport:
    """Extract every input of `cfg` into the corpus `cfg.out`; see the module docstring."""
    stage, corpus = prepare_extract(cfg)
    return run_stage(stage, corpus, locked=locked)


def prepare_extract(cfg: ExtractConfig) -> tuple[ExtractStage, Corpus]:
    """Check every input and open (or create) the corpus: the stage, ready for run_stage."""
    # A missing input stops the run here, before the corpus is created; an unreadable one is a
    # failed input, the others go on.
    found = find_inputs(cfg.inputs, kind=cfg.kind, corpus_root=cfg.out)
    inputs, unreadable, not_dumps = found.inputs, found.failed, found.notes
    buckets = cfg.buckets
    if buckets is None and not (Path(cfg.out) / METADATA).exists():
        buckets = buckets_for_inputs(month_bytes(inputs))
        not_dumps.append(f"new corpus with {buckets} thread buckets, chosen from the largest "
                         f"month's input (--buckets sets it; it is fixed from now on)")
    corpus = Corpus.open_or_create(cfg.out, buckets)
    return ExtractStage(cfg, inputs, unreadable, not_dumps), corpus


def month_bytes(inputs: list[tuple[Path, str, str]]) -> dict[str, int]:
    """Input bytes per month (RC_/RS_YYYY-MM of one month together; another name: its own)."""
    months: dict[str, int] = {}
    for path, _, _ in inputs:
        match = _MONTH.search(path.name)
        key = match.group(1) if match else path.name
        months[key] = months.get(key, 0) + path.stat().st_size
    return months


_MONTH = re.compile(r"(\d{4}-\d{2})")


def sweep_leftovers(corpus: Corpus) -> int:
    """Remove what a killed extract run left beyond what the scaffold sweeps for every stage
    (rdial.stage.sweep_stage: ledger, stats, config, corpus.json temporaries): staged tables and
    quarantine files under `_staging/extract`, and temporaries of the per-input stats."""
    found = 0
    staging = corpus.root / "_staging" / STAGE
    if staging.exists():  # killed between publishing an input and removing its staging
        found += 1
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()
    return found + sweep_temporaries(corpus.stats_dir(STAGE))


__all__ = ["ExtractConfig", "ExtractStage", "InputTask", "run_extract", "prepare_extract",
           "extract_input", "find_inputs", "plan", "settings_fingerprint", "staging_dir",
           "threads_per_input"]
