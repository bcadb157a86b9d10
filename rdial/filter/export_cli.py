"""rdial export CORPUS: the filtered shards as DialoGPT's training TSV or as JSON lines.

Examples:
  rdial export corpus --format dialogpt-tsv --split train --out train.tsv
  rdial export corpus --format jsonl --split valid > valid.jsonl
  rdial export corpus --format dialogpt-tsv --out all.tsv      # every split, train first

dialogpt-tsv: one line per chain, as DialoGPT's prepro.py reads its training data:
    0.0 a EOS 1.0 b<TAB>1.0 c
(source turns joined by " EOS ", a tab, the target; each turn prefixed by its weight), so
`python prepro.py --corpus train.tsv` in DialoGPT's repository takes an rdial corpus as is.
A tab or line break inside a turn becomes a space and the word EOS becomes "eos", so no comment
can add a field, a line or a turn; both are counted in the summary line (on stderr).
jsonl: one JSON object per chain with every shard column.

Writes FILE (atomically: a partial export never has the final name), or stdout with --out -.
Exit status: 0 done; 2 no shards (run `rdial filter` first) or bad flags; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdial import schema
from rdial.filter.export import FORMATS, export
from rdial.publish import atomic_path

HELP = "shards -> DialoGPT's TSV (0.0 a EOS 1.0 b<TAB>1.0 c) or JSON lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpus", type=Path, help="corpus directory with shards/ (rdial filter)")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="format",
                        help="dialogpt-tsv or jsonl")
    parser.add_argument("--split", choices=schema.SPLITS, default=None,
                        help="one split (default: train, valid and test, in that order)")
    parser.add_argument("--out", default="-", metavar="FILE",
                        help="output file, or - for stdout (default: -)")


def run(args: argparse.Namespace) -> int:
    if args.out == "-":
        stats = export(args.corpus, fmt=args.format, split=args.split, out=sys.stdout.buffer)
        sys.stdout.buffer.flush()
        print(f"export: {stats.summary(args.format)}", file=sys.stderr)
    else:
        with atomic_path(Path(args.out)) as tmp, open(tmp, "wb") as fh:
            stats = export(args.corpus, fmt=args.format, split=args.split, out=fh)
        print(f"export: {stats.summary(args.format)} -> {args.out}", file=sys.stderr)
    return 0
