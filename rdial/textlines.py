"""Line-oriented text files shared by generate and eval: strict line splitting, DialoGPT contexts.

    python -c "from rdial.textlines import split_context; print(split_context('0.0 hi EOS 1.0 there'))"
    # ['hi', 'there']
"""

from __future__ import annotations

import re
from pathlib import Path

from rdial.errors import InputError

TURN_SEPARATOR = " EOS "  # DialoGPT's TSV joins a context's turns so
_WEIGHT = re.compile(r"^-?\d+(?:\.\d+)? ")


def read_lines(path: Path) -> list[str]:
    """Lines split on \\n only (a \\r inside a reply is text), a trailing \\r dropped; UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def split_context(text: str) -> list[str]:
    """A context's turns, oldest first; DialoGPT's weight prefix ("0.0 text") dropped when every turn has one."""
    turns = text.split(TURN_SEPARATOR)
    if all(_WEIGHT.match(t) for t in turns):
        turns = [_WEIGHT.sub("", t, count=1) for t in turns]
    return [t.strip() for t in turns]


def weighted(text: str) -> bool:
    """Every ' EOS '-separated part carries DialoGPT's weight prefix ("1.0 text")."""
    return all(_WEIGHT.match(t) for t in text.split(TURN_SEPARATOR))


def drop_weight(text: str) -> str:
    return _WEIGHT.sub("", text, count=1)
