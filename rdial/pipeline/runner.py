"""run_pipeline: extract -> build -> filter -> exports (-> train) on one corpus, for cron.

    rdial run pipeline.toml                     # see rdial/pipeline/config.py for the file

Each stage does only what changed (its ledger), all of them under one hold of the corpus lock
(a second `rdial run` or stage exits 75 at once). Exports and training are steps of the run's
own ledger (CORPUS/_ledger/run/): an export is rewritten when the shards changed (or its file is
gone), and training runs `rdial train --resume --steps N` (N more steps; the run keeps its own
config) when the shards changed since it last trained, or resumes a training that did not finish. One exit status: 0, 1 when any
stage was partial (the others still ran), 2 on a fatal error (the later stages do not run),
75 locked, 130 interrupted. Under cron (stderr not a terminal) it prints only errors and one
summary line; on a terminal, each stage's progress and summary too.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdial.errors import RdialError
from rdial.ledger import Ledger, combine_fingerprints
from rdial.pipeline.config import PipelineConfig
from rdial.stage import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, StageReport, run_stage

STAGE = "run"
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass
class StepResult:
    """An export or the training: what `rdial run` did about it."""

    name: str                  # "export:train.tsv", "train"
    status: str                # "done", "skipped" (shards unchanged), "failed"
    exit_code: int = 0
    message: str = ""


@dataclass
class PipelineReport:
    corpus: Path
    stages: list[StageReport] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    error: str = ""            # the fatal error that stopped the run
    exit_code: int = EXIT_OK
    seconds: float = 0.0

    def problems(self) -> list[str]:
        lines = []
        for r in self.stages:
            lines += [f"{r.stage}: {f.name}: {f.message}" for f in r.failed] + r.problems
        lines += [f"{s.name}: {s.message}" for s in self.steps if s.status == "failed"]
        return lines + ([self.error] if self.error else [])

    def summary_line(self) -> str:
        parts = []
        for r in self.stages:
            n, done, failed = len(r.results), len(r.done), len(r.failed)
            if r.stage == "filter" and r.stats.get("chains_out") is not None:
                parts.append(f"filter {r.stats['chains_out']:,} chains"
                             + (" (up to date)" if r.up_to_date else ""))
            else:
                parts.append(f"{r.stage} {done} done/{n}" + (f", {failed} failed" if failed else ""))
        for s in self.steps:
            parts.append(f"{s.name} {s.status}")
        return (f"rdial run: exit {self.exit_code} in {self.seconds:.1f} s: " + "; ".join(parts)
                + f" -> {self.corpus}")


def run_pipeline(cfg: PipelineConfig, *, quiet: bool = False) -> PipelineReport:
    from rdial.build.stage import BuildStage
    from rdial.extract.stage import prepare_extract
    from rdial.filter.stage import FilterStage

    start = time.monotonic()
    extract_stage, corpus = prepare_extract(cfg.extract)  # creates the corpus on the first run
    report = PipelineReport(corpus=corpus.root)
    say = (lambda text: None) if quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    with corpus.lock(STAGE):
        try:
            for make in (lambda: extract_stage,
                         lambda: BuildStage(cfg.build, progress=cfg.filter.progress),
                         lambda: FilterStage(cfg.filter)):
                stage = make()
                stage.quiet = quiet
                result = run_stage(stage, corpus, locked=True)
                report.stages.append(result)
                say(result.summary())
            shards = Ledger(corpus.root, "filter").get("shards")
            shards_fp = shards["fingerprint"] if shards else None
            for argv in cfg.exports:
                report.steps.append(_export(corpus.root, argv, shards_fp, quiet, say))
            if cfg.train is not None:
                report.steps.append(_train(corpus.root, cfg, shards_fp, quiet, say))
        except RdialError as exc:
            report.error = str(exc)
        report.seconds = round(time.monotonic() - start, 3)
        report.exit_code = _exit_code(report)
        runs = dict(corpus.metadata().get("runs", {}))
        runs[STAGE] = {"finished": int(time.time()), "seconds": report.seconds,
                       "exit_status": report.exit_code, "problems": report.problems(),
                       "config": str(cfg.source)}
        corpus.write_metadata({"runs": runs})
    return report


def _exit_code(report: PipelineReport) -> int:
    if report.error:
        return EXIT_ERROR
    codes = [r.exit_code for r in report.stages] + [s.exit_code for s in report.steps]
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    if EXIT_ERROR in codes:
        return EXIT_ERROR
    return EXIT_PARTIAL if any(codes) else EXIT_OK


def _call(command: str, argv: list[str], quiet: bool) -> tuple[int, str]:
    """Run another rdial command in this process; under cron its chatter is kept back and
    shown only when it fails."""
    from rdial.cli import run_command

    if not quiet:
        return run_command(command, argv), ""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        code = run_command(command, argv)
    return code, buffer.getvalue()


def _export(root: Path, argv: list[str], shards_fp: str | None, quiet: bool, say) -> StepResult:
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else None
    name = f"export:{out.name if out else '-'}"
    ledger, key = Ledger(root, STAGE), "export-" + combine_fingerprints(argv[1:])[:12]
    fingerprint = combine_fingerprints({"shards": str(shards_fp), "argv": json.dumps(argv)})
    if shards_fp and out is not None and out.exists() and ledger.is_done(key, fingerprint):
        return StepResult(name, "skipped", message="shards unchanged since the last export")
    code, chatter = _call("export", argv, quiet)
    if code:
        ledger.forget(key)
        return StepResult(name, "failed", code, _last_line(chatter) or f"exit status {code}")
    if out is not None and shards_fp:
        ledger.record(key, fingerprint, outputs=[str(out)])
    say(f"run: {name} written")
    return StepResult(name, "done")


def newest_step(run_dir: Path) -> int:
    """The step of the newest checkpoint in a train run folder (checkpoints/step-NNNNNNNN), 0
    when there is none."""
    steps = [int(m.group(1)) for p in (run_dir / "checkpoints").glob("step-*")
             if (m := _STEP_DIR.match(p.name)) and p.is_dir()] if run_dir.exists() else []
    return max(steps, default=0)


def _train(root: Path, cfg: PipelineConfig, shards_fp: str | None, quiet: bool, say) -> StepResult:
    """`rdial train ... --resume --steps N` (N more steps from the newest checkpoint; a fresh run
    when there is none), with `--accept-changed-shards` once a checkpoint exists (a new month
    changed the shards): the trainer's own command, so its resume rules and checks apply as they
    are. A training that did not reach its target (interrupted) is resumed to that target."""
    ledger = Ledger(root, STAGE)
    entry = ledger.get("train")
    step = newest_step(cfg.train_out)
    if shards_fp is None:
        return StepResult("train", "failed", EXIT_PARTIAL, "no finished shards to train on")
    same = entry is not None and entry.get("fingerprint") == shards_fp
    if same and step >= entry["stats"].get("target", 0):
        return StepResult("train", "skipped", message=f"shards unchanged since step {step}")
    if same:  # unfinished: the same target
        target = entry["stats"]["target"]
        argv = cfg.train + ["--resume", "--max-steps", str(target)]
    else:
        target = step + cfg.train_steps
        argv = cfg.train + ["--resume", "--steps", str(cfg.train_steps)] + (
            ["--accept-changed-shards"] if step else [])
    code, chatter = _call("train", argv, quiet)
    ledger.record("train", shards_fp, outputs=[str(cfg.train_out)],
                  stats={"target": target, "exit_status": code})
    if code:
        return StepResult("train", "failed", code, _last_line(chatter) or f"exit status {code}")
    say(f"run: trained to step {target} -> {cfg.train_out}")
    return StepResult("train", "done", message=f"step {target}")


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


__all__ = ["run_pipeline", "PipelineReport", "StepResult", "newest_step"]
