"""`rdial <command>`: one subcommand per stage; thin, it parses flags into a config and calls it.

    rdial --help
    rdial demo --out demo-run

Each command lives in a module exposing `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int`; the module's docstring becomes the command's `--help` text. Modules are
light to import (torch, Ray and friends are imported inside `run`), so `rdial --help` is fast.

Exit status: 0 all went well; 1 the run finished but some input or task failed (see its report);
2 a usage, configuration or fatal input error (printed as one line); 75 the corpus or run
directory is in use by another run (try later); 130 interrupted (Ctrl-C or SIGTERM alike).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rdial import __version__
from rdial.errors import RdialError

# Pipeline order; `rdial --help` lists them like this.
COMMANDS = {
    "demo": "rdial.demo",
    "synth": "rdial.synth.cli",
    "extract": "rdial.extract.cli",
    "build": "rdial.build.cli",
    "filter": "rdial.filter.cli",
    "export": "rdial.filter.export_cli",
    "train": "rdial.train.cli",
    "generate": "rdial.train.generate_cli",
}

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def _command_modules() -> dict:
    return {name: importlib.import_module(modname) for name, modname in COMMANDS.items()}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="rdial",
        description="Reddit comment dumps -> dialogue corpus -> GPT-2 conversational model.\n\n"
                    "Pipeline: rdial synth (or real dumps) -> extract -> build -> filter -> train.\n"
                    "Every command takes --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rdial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _command_modules()
    for name, mod in modules.items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_ERROR
    from rdial.executor import interrupt_on_sigterm

    interrupt_on_sigterm()  # SIGTERM stops a stage as Ctrl-C does: exit 130
    try:
        return int(modules[args.command].run(args) or 0)
    except RdialError as exc:
        print(f"rdial: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_ERROR)
    except KeyboardInterrupt:
        print("rdial: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
