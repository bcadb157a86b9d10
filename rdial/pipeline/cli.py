"""rdial run PIPELINE.toml: the monthly job, extract -> build -> filter -> exports (-> train).

Examples:
  rdial run pipeline.toml                  # do what changed since the last run
  rdial run pipeline.toml --print-config   # the resolved settings of every stage, as JSON
  rdial run pipeline.toml --force          # redo every stage as if nothing were done
  # crontab: the 3rd of every month at 04:00, a log of errors and one summary line
  0 4 3 * *  cd /data/rdial && rdial run pipeline.toml 2>> rdial-run.log

The file names the dump folders, the corpus, the preset (once: build and filter both use it)
and any stage's settings; see rdial/pipeline/config.py or docs/run.md. A new month's dump
dropped into a dump folder is extracted, only the buckets it touched are rebuilt, the shards
are recomputed, the exports rewritten and, with a [train] table, the model trained `steps`
more steps (`rdial train --resume --steps N`). Nothing changed: nothing is done.

All of it runs under one hold of the corpus lock. On a terminal every stage shows its progress
and summary; otherwise (cron) only errors and one summary line reach stderr.

Exit status: 0 all done (or up to date); 1 partial: some input, bucket, export or training
failed, an input gave no good line, or a stage had nothing to work on (each named on stderr and
in CORPUS/stats/<stage>.json), the other stages still ran; 2 bad config or a fatal error (the
later stages did not run); 75 the corpus is in use by another run; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "the monthly job: extract -> build -> filter -> exports (-> train) from one TOML file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, metavar="PIPELINE.toml",
                        help="the pipeline file (dumps, corpus, preset, [extract] [build] "
                             "[filter] [[export]] [train])")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (every stage's settings) as JSON and exit")
    parser.add_argument("--force", action="store_true",
                        help="redo every stage, even what the ledgers record as done")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress and each stage's summary on stderr (default: on a "
                             "terminal only; under cron errors and one summary line)")


def run(args: argparse.Namespace) -> int:
    from rdial.pipeline.config import load_pipeline
    from rdial.pipeline.runner import run_pipeline

    interactive = sys.stderr.isatty() if args.progress is None else args.progress
    cfg = load_pipeline(args.config, force=args.force, progress=interactive)
    if args.print_config:
        print(json.dumps(cfg.to_json(), indent=2))
        return 0
    report = run_pipeline(cfg, quiet=not interactive)
    for line in report.problems():
        print(f"rdial run: {line}", file=sys.stderr)
    print(report.summary_line(), file=sys.stderr)
    return report.exit_code
