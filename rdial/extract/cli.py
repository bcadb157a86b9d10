"""rdial extract DUMP_OR_DIR... --out CORPUS : Reddit dumps -> bucketed comments/submissions tables.

Examples:
    rdial extract RC_2005-12.zst --out corpus
    rdial extract dumps/ --out corpus --workers 2          # every RC_*/RS_* file under dumps/
    rdial extract RS_2019-10.zst RC_2019-10.zst --out corpus --buckets 64
    rdial extract AskMen_submissions_2019-10.zst --out corpus   # kind from the name
    rdial extract export.json --out corpus --kind comments      # or say it

Formats by magic bytes and extension: zst (2 GiB window, as Pushshift writes), bz2, xz, gz,
plain NDJSON (a BigQuery-style JSON array works too). RC_ files are comments, RS_ files
submissions; other names are decided by 'comment'/'submission' in the name, then by the first
record (title -> submission, body -> comment).

Writes, in CORPUS:
    comments/bucket=NNNNN/<input>.parquet     one file per input and thread bucket (zstd)
    submissions/bucket=NNNNN/<input>.parquet
    quarantine/<input>.jsonl                  bad lines, verbatim, with line number and reason
    stats/extract/<input>.json                lines, bytes, good, blank, quarantined by reason
    stats/extract.json, config/extract.json   run summary, resolved config
A rerun skips inputs finished and unchanged (--force redoes them); a killed run, rerun, ends
with exactly the output of an uninterrupted one.

Exit status: 0 all inputs extracted (or up to date); 1 some input was damaged (its lines before
the damage are kept; the message names the file and the compressed byte offset), a file named
here is not a readable dump, or an input gave no good line (every line quarantined), each named
in the summary and in stats/extract.json, the other inputs extracted; 2 usage error, missing
input, unwritable output (nothing of the affected input is published); 75 the corpus is in use
by another run; 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse

from rdial.config import add_config_arguments, config_from_args

HELP = "read RC/RS dumps (zst, bz2, xz, gz, json) into bucketed Parquet tables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rdial.extract.stage import ExtractConfig

    add_config_arguments(parser, ExtractConfig)


def run(args: argparse.Namespace) -> int:
    from rdial.extract.stage import ExtractConfig, run_extract

    report = run_extract(config_from_args(ExtractConfig, args))
    print(report.summary())
    for result in report.failed:
        print(f"rdial extract: {result.name}: {result.message}")
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    """`python -m rdial.extract.cli ...`: this command alone (rdial.cli imports only it)."""
    from rdial.cli import run_command

    return run_command("extract", argv)


if __name__ == "__main__":
    raise SystemExit(main())
