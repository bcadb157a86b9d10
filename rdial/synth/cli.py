"""Write synthetic Pushshift dumps (RC_/RS_ files) that look like the real ones, deterministically.

    rdial synth --out dumps                                  # RC_2005-12.zst + RS_2005-12.zst
    rdial synth --out dumps --months 2005-12 2006-01 --comments 50000 --manifest
    rdial synth --out dumps --comments 2000000               # the benchmark dump (~35 s here)
    rdial synth --out dumps --months 2019-10 --format bz2    # 2019 schema (47/76 keys), bz2
    rdial synth --out dumps --era mixed --format json        # every line its own era, plain

What it writes into --out, per month: RC_YYYY-MM.<ext> with exactly --comments lines and
RS_YYYY-MM.<ext> with the month's submissions; with --manifest also manifest.json, listing per
file the line count and per month the ids of everything planted (deleted/removed bodies,
duplicates, comments whose parent is missing, replies to an earlier month, bots, NSFW threads,
URLs, quotes, shouting, long tokens, unicode, ...), so tests can assert exact numbers.

zst files declare a 2 GiB window like the real dumps (`zstd --long=31`): read them with
`zstd -d --long=31` or zstandard.ZstdDecompressor(max_window_size=2**31). The same flags and
--seed always give byte-identical files (whatever --workers). Files appear only when complete
(temporary name, then rename), so a killed run leaves no half-written dump; rerunning it writes
the same files.

Exit status: 0 written; 2 bad flags or an unwritable --out (one line naming the problem);
130 interrupted (a rerun writes the same files).
"""

from __future__ import annotations

import argparse
import sys
import time

from rdial.config import add_config_arguments, config_from_args
from rdial.synth.config import SynthConfig

HELP = "write synthetic Pushshift RC/RS dumps (zst/bz2/xz/gz/json), deterministic by seed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rdial.progress import PROGRESS_HELP

    add_config_arguments(parser, SynthConfig)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help=PROGRESS_HELP)


def run(args: argparse.Namespace) -> int:
    from rdial.progress import Progress
    from rdial.synth.dumps import generate_dumps

    cfg = config_from_args(SynthConfig, args)
    total = cfg.comments * len(cfg.months)
    started = time.perf_counter()
    progress = Progress("synth", total=total, unit="lines", enabled=args.progress)
    manifest = generate_dumps(cfg, on_lines=progress.update)
    progress.close()
    seconds = time.perf_counter() - started
    for name, entry in manifest.files.items():
        print(f"{cfg.out / name}: {entry['lines']:,} lines", file=sys.stderr)
    print(f"rdial synth: {len(manifest.files)} files in {seconds:.1f} s", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m rdial.synth.cli ...`: this command alone (rdial.cli imports only it)."""
    from rdial.cli import run_command

    return run_command("synth", argv)


if __name__ == "__main__":
    raise SystemExit(main())
