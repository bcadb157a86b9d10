"""Hypothesis files: one reply a line, or DSTC7's system responses (many systems in one file).

    python -c "from rdial.eval.hypotheses import read_systems as r; print([s.name for s in r('hyps.txt', refs)])"

plain   one hypothesis a line, in the reference file's order; the system is named after the file.
        An empty line is an empty reply (a model can say nothing): scored, and counted.
dstc7   `dstc7-task2-system_responses.tsv`: a header `SystemID<TAB>InstanceID<TAB>Response`, then
        one line per system and item; each SystemID becomes one system, its replies put in the
        reference file's order through InstanceID (reference file: DSTC7's gold responses).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdial.errors import InputError
from rdial.eval.references import ReferenceSet, read_lines

DSTC7_HEADER = "SystemID\tInstanceID\tResponse"


@dataclass(frozen=True)
class System:
    name: str
    path: Path
    hyps: list[str]


def read_systems(path: Path, references: ReferenceSet) -> list[System]:
    path = Path(path)
    lines = read_lines(path)
    if lines and lines[0] == DSTC7_HEADER:
        return _dstc7_systems(path, lines, references)
    if len(lines) != len(references.items):
        raise InputError(f"{path}: {len(lines)} hypotheses but {references.path} holds "
                         f"{len(references.items)} items; one hypothesis a line, in the same order")
    return [System(name=path.stem, path=path, hyps=lines)]


def _dstc7_systems(path: Path, lines: list[str], references: ReferenceSet) -> list[System]:
    if references.format != "dstc7-gold":
        raise InputError(f"{path}: DSTC7 system responses (by InstanceID) need DSTC7's gold responses "
                         f"as --refs; {references.path} is {references.format}")
    index = references.index()
    by_system: dict[str, dict[int, str]] = {}
    for number, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if len(fields) != 3:
            raise InputError(f"{path}:{number}: {len(fields)} fields; expected SystemID<TAB>InstanceID<TAB>Response")
        system, key, reply = fields
        if key not in index:
            raise InputError(f"{path}:{number}: InstanceID {key} is not in {references.path}")
        replies = by_system.setdefault(system, {})
        if index[key] in replies:
            raise InputError(f"{path}:{number}: a second response of system {system} to InstanceID {key}")
        replies[index[key]] = reply
    systems = []
    for name, replies in by_system.items():
        if len(replies) != len(index):
            missing = next(item.key for i, item in enumerate(references.items) if i not in replies)
            raise InputError(f"{path}: system {name} answers {len(replies)} of the {len(index)} items "
                             f"of {references.path} (no response to InstanceID {missing})")
        systems.append(System(name=name, path=path, hyps=[replies[i] for i in range(len(index))]))
    return systems
