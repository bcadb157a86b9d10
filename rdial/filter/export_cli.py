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
multiref: one line per context, `context<TAB>ref1<TAB>ref2...` (rdial/filter/multiref.py):
  rdial export corpus --format multiref --split test --min-refs 2 --max-refs 10 --out refs.tsv
      contexts of the split with several distinct sibling responses, best-scored first
  rdial export corpus --format multiref --dialogpt-ids test-multi-refs-ids.txt --out refs.tsv
      DialoGPT's 6k multi-reference set, as its create-multiref.py builds it, from a corpus built
      with --preset dialogpt-test --dialogpt-keys keys-test.gz; ids not found are counted
      (--missing FILE lists them); --scored writes `score|ref` (test.scored_refs.txt)

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
    parser.add_argument("--format", required=True, choices=FORMATS + ("multiref",), dest="format",
                        help="dialogpt-tsv, jsonl or multiref")
    parser.add_argument("--split", choices=schema.SPLITS, default=None,
                        help="one split (default: train, valid and test, in that order)")
    parser.add_argument("--out", default="-", metavar="FILE",
                        help="output file, or - for stdout (default: -)")
    multi = parser.add_argument_group("multiref")
    multi.add_argument("--min-refs", type=int, default=2, metavar="N",
                       help="contexts with fewer distinct responses are left out (default: 2)")
    multi.add_argument("--max-refs", type=int, default=0, metavar="N",
                       help="at most N references a context, best-scored first (default: 0, all)")
    multi.add_argument("--dialogpt-ids", type=Path, default=None, metavar="FILE",
                       help="DialoGPT's test-multi-refs-ids.txt: build its multi-ref set")
    multi.add_argument("--scored", action="store_true",
                       help="write references as score|ref (DialoGPT's test.scored_refs.txt)")
    multi.add_argument("--missing", type=Path, default=None, metavar="FILE",
                       help="with --dialogpt-ids: write the ref ids not found, one a line")


def run(args: argparse.Namespace) -> int:
    if args.format == "multiref":
        return run_multiref(args)
    if args.out == "-":
        stats = export(args.corpus, fmt=args.format, split=args.split, out=sys.stdout.buffer)
        sys.stdout.buffer.flush()
        print(f"export: {stats.summary(args.format)}", file=sys.stderr)
    else:
        with atomic_path(Path(args.out)) as tmp, open(tmp, "wb") as fh:
            stats = export(args.corpus, fmt=args.format, split=args.split, out=fh)
        print(f"export: {stats.summary(args.format)} -> {args.out}", file=sys.stderr)
    return 0


def run_multiref(args: argparse.Namespace) -> int:
    from rdial.filter.multiref import export_multiref

    kw = dict(split=args.split, dialogpt_ids=args.dialogpt_ids, min_refs=args.min_refs,
              max_refs=args.max_refs, scored=args.scored, missing_out=args.missing)
    if args.out == "-":
        report = export_multiref(args.corpus, out=sys.stdout.buffer, **kw)
        sys.stdout.buffer.flush()
    else:
        with atomic_path(Path(args.out)) as tmp, open(tmp, "wb") as fh:
            report = export_multiref(args.corpus, out=fh, **kw)
    print(report.summary() + ("" if args.out == "-" else f" -> {args.out}"), file=sys.stderr)
    return 0
