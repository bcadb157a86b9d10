"""Multi-reference test sets: read the published formats, and fill reference sets as DSTC7 did.

    python -c "from rdial.eval.references import read_references as r; t = r('refs.tsv'); print(t.format, len(t.items))"

Formats (told apart by their first line):
  dstc7-gold   DSTC7 task 2 `dstc7-task2-gold_responses.tsv`: a header `InstanceID<TAB>Reference1...`,
               then `InstanceID<TAB>ref<TAB>ref...` (1 to 1,009 references); no contexts.
  dialogpt     DialoGPT's `test.refs.txt` (create-multiref.py): `context<TAB>score|ref<TAB>score|ref...`;
               the score (a number) is cut at the first `|`, the rest is the reference (DialoGPT's
               own reader keeps only the text up to a second `|`; a reference may hold one).
  multiref     `context<TAB>ref1<TAB>ref2...` (rdial export --format multiref).
Contexts hold the dialogue turns joined by " EOS " (DialoGPT's TSV); a turn may carry
DialoGPT's weight prefix ("0.0 text"), dropped when every turn has one; a multiref line whose
context turns and references all carry one (rdial export from a corpus with tsv_weights) loses
the references' prefixes too.

The reference protocol (mteval needs every reference set to hold every item):
  cycle N (default, N = 6)  reference set k of an item = its refs[k mod len(refs)], k < N: what
                            DSTC7's and DialoGPT's dstc.py do (`--n_refs 6`); an item with more
                            than N references uses its first N.
  --exclude-ref K           DSTC7's `dstc.py --vshuman K` (its default is 1, and DialoGPT's
                            batch_eval.py keeps it): an index k mod len equal to K takes the
                            next reference instead, so the K-th reference (0-based; the human
                            response in DSTC7's files) is never used unless it is the only one;
                            with `all`, reference K is left out.
  all                       every reference of every item once; NIST's information, the
                            clipped matches and both length penalties are computed over each
                            item's own references (rdial.eval.mteval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rdial.errors import InputError
from rdial.textlines import (TURN_SEPARATOR, drop_weight, read_lines, split_context,  # noqa: F401
                             weighted)

FORMATS = ("dstc7-gold", "dialogpt", "multiref")
_SCORED = re.compile(r"^-?\d+(?:\.\d+)?\|")


@dataclass(frozen=True)
class RefItem:
    key: str                 # InstanceID, or the 1-based line number as text
    context: list[str]       # dialogue turns, oldest first; empty when the format has none
    refs: list[str]


@dataclass(frozen=True)
class ReferenceSet:
    path: Path
    format: str
    items: list[RefItem]

    def index(self) -> dict[str, int]:
        return {item.key: i for i, item in enumerate(self.items)}


def detect_format(path: Path, lines: list[str]) -> str:
    if not lines:
        raise InputError(f"{path}: empty; a reference file has one item a line")
    first = lines[0].split("\t")
    if first[0] == "InstanceID":
        return "dstc7-gold"
    if len(first) < 2:
        raise InputError(f"{path}:1: unknown reference format: no tab; expected context<TAB>ref..., "
                         f"DialoGPT's context<TAB>score|ref... or DSTC7's InstanceID<TAB>Reference1... header")
    if all(_SCORED.match(f) for f in first[1:]):
        return "dialogpt"
    return "multiref"


def read_references(path: Path, fmt: str | None = None) -> ReferenceSet:
    """Every item of a reference file (format detected unless `fmt`), in file order."""
    path = Path(path)
    lines = read_lines(path)
    fmt = fmt or detect_format(path, lines)
    if fmt not in FORMATS:
        raise InputError(f"--refs-format {fmt}: unknown; one of {', '.join(FORMATS)}")
    items = []
    seen: dict[str, int] = {}
    body = lines[1:] if fmt == "dstc7-gold" else lines
    start = 2 if fmt == "dstc7-gold" else 1
    for number, line in enumerate(body, start):
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(f"{path}:{number}: no reference on this line (a {fmt} line is "
                             f"{'InstanceID' if fmt == 'dstc7-gold' else 'context'}<TAB>ref...)")
        if fmt == "dstc7-gold":
            key, context, refs = fields[0], [], fields[1:]
            if key in seen:
                raise InputError(f"{path}:{number}: InstanceID {key} already on line {seen[key]}")
            seen[key] = number
        else:
            key, context, refs = str(number), split_context(fields[0]), fields[1:]
            if fmt == "multiref" and weighted(fields[0]) and all(weighted(r) for r in refs):
                refs = [drop_weight(r) for r in refs]  # written from a corpus with tsv_weights: "1.0 ref"
            if fmt == "dialogpt":
                bad = [f for f in refs if not _SCORED.match(f)]
                if bad:
                    raise InputError(f"{path}:{number}: field {bad[0][:40]!r} is not score|reference "
                                     f"(DialoGPT's test.refs format, detected from line 1)")
                refs = [f.split("|", 1)[1] for f in refs]
        items.append(RefItem(key=key, context=context, refs=refs))
    return ReferenceSet(path=path, format=fmt, items=items)


def cycle_references(refs: list[str], sets: int, exclude: int | None = None) -> list[str]:
    """DSTC7's protocol: reference set k holds refs[k mod len(refs)], for k < sets; with
    `exclude` (their --vshuman), an index equal to it moves to the next one (mod len)."""
    out = []
    for k in range(sets):
        i = k % len(refs)
        if i == exclude:
            i = (i + 1) % len(refs)
        out.append(refs[i])
    return out


def reference_lists(reference_set: ReferenceSet, refs_per_item: int | None,
                    exclude: int | None = None) -> list[list[str]]:
    """Each item's references under the protocol: cycled to `refs_per_item`, or all (None)."""
    if refs_per_item is None:
        return [[r for i, r in enumerate(item.refs) if i != exclude or len(item.refs) == 1]
                for item in reference_set.items]
    return [cycle_references(item.refs, refs_per_item, exclude) for item in reference_set.items]
