"""rdial status CORPUS: months present, rows per stage, quarantined lines, failed inputs, what
is stale, and the last run of each stage with its exit status.

Examples:
  rdial status corpus
  rdial status corpus --json | jq .stale

Read-only; it takes no lock, so it can run while a stage writes (it shows the last finished
state). Stale: an input newer than its ledger entry, a bucket whose comments are newer than its
chains, shards older than the chains; `rdial run` (or the stage named) brings them up to date.

Exit status: 0 shown; 2 not a corpus.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "what a corpus holds: months, rows per stage, failures, what is stale, the last runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpus", type=Path, metavar="CORPUS", help="corpus directory")
    parser.add_argument("--json", action="store_true", help="print it as one JSON object")


def run(args: argparse.Namespace) -> int:
    from rdial.pipeline.status import corpus_status, format_status

    status = corpus_status(args.corpus)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0
