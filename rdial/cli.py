"""`rdial <command>`: one subcommand per stage; thin, it parses flags into a config and calls it.

    rdial --help
    rdial demo --out demo-run
    rdial run pipeline.toml          # extract -> build -> filter -> exports (-> train), for cron

Each command lives in a module exposing `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int`; the module's docstring becomes the command's `--help` text. Only the module
of the command that runs is imported (`rdial --help` imports none: it reads each module's
`HELP = "..."` line from its source), so polars, pyarrow and torch load only for the
commands that use them. Flags are parsed by the command's own parser, so a wrong flag prints
that command's usage and the closest flag it has.

Exit status (every command):
    0   all went well (or everything was already up to date)
    1   partial: the run finished, but an input, bucket or task failed, an input gave no good
        line, or a stage had nothing to work on; each is named on stderr and in
        CORPUS/stats/<stage>.json, and the next run retries what failed
    2   a usage, configuration or fatal error (bad flag, unwritable output), one line
    75  the corpus (or a train run folder) is in use by another run (EX_TEMPFAIL: try later)
    130 interrupted by Ctrl-C or SIGTERM (rerun to finish: it ends as an uninterrupted run would)
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib
import re
import sys
from pathlib import Path

from rdial import __version__
from rdial.errors import ConfigError, RdialError

# Pipeline order; `rdial --help` lists them like this.
COMMANDS = {
    "demo": "rdial.demo",
    "synth": "rdial.synth.cli",
    "extract": "rdial.extract.cli",
    "build": "rdial.build.cli",
    "filter": "rdial.filter.cli",
    "export": "rdial.filter.export_cli",
    "tokenize": "rdial.train.tokenize_cli",
    "train": "rdial.train.cli",
    "generate": "rdial.train.generate_cli",
    "eval": "rdial.eval.cli",
    "run": "rdial.pipeline.cli",
    "status": "rdial.pipeline.status_cli",
    "prune": "rdial.pipeline.prune_cli",
}
_HELP_LINE = re.compile(r'^HELP = (".*")$', re.M)


def command_help(name: str) -> str:
    """A command's one-line HELP, read from its source so that `rdial --help` imports nothing."""
    # the file, found without importing its package (rdial/synth/__init__.py loads the generator)
    path = Path(__file__).parent.joinpath(*COMMANDS[name].split(".")[1:]).with_suffix(".py")
    match = _HELP_LINE.search(path.read_text()) if path.is_file() else None
    return ast.literal_eval(match.group(1)) if match else importlib.import_module(COMMANDS[name]).HELP


EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


class CommandParser(argparse.ArgumentParser):
    """argparse, but an unknown flag names the closest flag the command has."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            flags = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
            hints = []
            for token in message.split(":", 1)[1].split():
                if token.startswith("-"):
                    close = difflib.get_close_matches(token.split("=", 1)[0], flags, n=1, cutoff=0.6)
                    if close:
                        hints.append(f"{token}: did you mean {close[0]}?")
            if hints:
                message += " (" + "; ".join(hints) + ")"
        if not self.exit_on_error:  # checked for another command (rdial run): raise, not exit
            raise ConfigError(message)
        super().error(message)


def top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdial",
        description="Reddit comment dumps -> dialogue corpus -> GPT-2 conversational model.\n\n"
                    "Pipeline: rdial synth (or real dumps) -> extract -> build -> filter -> train.\n"
                    "Every command takes --help.",
        epilog="Exit status: 0 ok; 1 partial (something failed, named on stderr); 2 usage or "
               "fatal error; 75 corpus in use by another run; 130 interrupted.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rdial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        sub.add_parser(name, help=command_help(name), add_help=False)
    return parser


def command_parser(name: str):
    """The parser of one command, and its module (the only one imported)."""
    mod = importlib.import_module(COMMANDS[name])
    parser = CommandParser(prog=f"rdial {name}", description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    mod.add_arguments(parser)
    return parser, mod


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        parser = top_parser()
        if not argv:
            parser.print_help()
            return EXIT_ERROR
        parser.parse_args(argv[:1])  # --help, --version, or an unknown command: exits
        parser.error(f"unknown arguments {' '.join(argv)}")
    return run_command(argv[0], argv[1:])


def run_command(name: str, argv: list[str] | None = None) -> int:
    """Parse `argv` with command `name`'s own parser and run it; the exit status."""
    parser, mod = command_parser(name)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from rdial.executor import interrupt_on_sigterm

    interrupt_on_sigterm()  # SIGTERM stops a stage as Ctrl-C does: exit 130
    try:
        return int(mod.run(args) or 0)
    except RdialError as exc:  # LockedError (a corpus or run folder in use): 75, others 2
        print(f"rdial: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_ERROR)
    except KeyboardInterrupt:
        print("rdial: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
