"""rdial build CORPUS: turn the corpus's comment trees into dialogue chains, bucket by bucket.

Examples:
  rdial build corpus                          # the corpus' preset, else rdial (its comment rules)
  rdial build corpus --preset raw             # no comment rules: root-to-leaf chains of any length
  rdial build corpus --targets all --max-turns 5
  rdial build corpus --with-title             # submission title as the first turn (needs RS data)
  rdial build corpus --per-month --max-turns 5    # DialoGPT: threads joined within a month
  rdial build corpus --preset dialogpt --force   # DialoGPT's comment rules; another preset: --force

A chain is a path of usable comments c1..cn, each replying to the one before: c1 replies to the
submission or to a comment that is missing or unusable ([deleted], [removed], empty, or dropped
by the preset's comment rules, recorded in corpus.json for `rdial filter` to check; see
`rdial filter --list-settings`); cn has no usable reply (or, with --targets all, any usable comment
ends a chain). Comments are deduplicated by id first: the record retrieved last wins (ties: the
later input file, then the later line). Parent cycles are cut at their oldest comment; replies to
themselves or to another thread start a new chain; all of these are counted in the stats.

Writes (in CORPUS):
  chains/bucket=NNNNN.parquet   the chains of one bucket (schema rdial.schema.CHAINS), ordered by
                                their last turn's (link_id, created_utc, id); every bucket with
                                comments has one, possibly with no rows
  stats/build.json              counts: records, duplicates, unusable per reason, link kinds
                                (missing parents, cycles, self replies...), chains, turns
  config/build.json             the resolved settings of the run
  _ledger/build/                per bucket: input fingerprints; a rerun rebuilds only buckets
                                whose inputs or settings changed, to the same bytes

Exit status: 0 all buckets built or up to date; 1 some bucket failed (named on stderr, retried
next run), or the corpus holds no comments; 2 bad flags or not a corpus; 75 the corpus is in use
by another run; 130 interrupted (rerun to finish).
"""

from __future__ import annotations

import argparse
import sys

from rdial.config import add_config_arguments, config_from_args
from rdial.progress import PROGRESS_HELP

HELP = "comment trees -> dialogue chains (one Parquet file per bucket)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rdial.build.stage import BuildConfig

    add_config_arguments(parser, BuildConfig)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help=PROGRESS_HELP)


def run(args: argparse.Namespace) -> int:
    from rdial.build.stage import BuildConfig, run_build

    cfg = config_from_args(BuildConfig, args)
    report = run_build(cfg, progress=args.progress)
    print(report.summary(), file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code
