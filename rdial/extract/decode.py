"""One decode path for every block of lines: msgspec -> rdial's fields as Arrow columns.

    python -c "from rdial.extract.decode import BlockDecoder; help(BlockDecoder.decode)"

Every block is decoded by `msgspec.json.Decoder(Record, strict=False).decode_lines`, where
`Record` is a Struct of only the fields of `TableSpec.read_schema` (all other keys are skipped
in C) in their canonical types. msgspec's lax mode converts, in C, the drift the eras write
(`created_utc` "1251763200" or 1706745600.0, `stickied` "false" or 0, "null" as a string) by
the same rule as the per-line converters (`normalize.coerce_record`), so drifted lines cost
what uniform ones do; a value it will not convert (`"score": "lots"`, an int `id`) is a type
error that sends only its line to the reference path. The Structs become one Arrow struct array
(`astuple`), column by column only when a value does not fit (an int beyond int64). Then
`normalize.normalize_table` applies the era rules.

Exactness: msgspec's `decode_lines` reads whitespace-separated JSON values, so a row maps to a
line only if every line holds exactly one value. Lines are located with numpy; a non-empty line
that does not start with `{` and end with `}` never reaches msgspec, and with that shape a value
cannot span two lines (after a closing `}` a new line's `{` is a syntax error), so
"values decoded == lines decoded" proves the 1:1 mapping; a glued line (two objects, a lost
newline) breaks the count. On any failure (a decode or type error, a glued line) the range is
split at the line the error names (else in half) until the offending lines stand alone; only
those go to the per-line reference path (`reference_line`), every other line stays here. Lines
with a NUL byte, invalid UTF-8 (msgspec does not check skipped strings), or over the length
limit are found with one pass over the block and go to the reference path directly.

The per-line reference path decides every line the fast path does not accept, and the fast path
accepts a line only when its verdict equals the reference's (tests/extract/test_decode_fuzz.py).
A UTF-8 byte-order mark before the first line of a file is dropped (it is an encoding marker,
not data); elsewhere it is a `bad_json` line.
"""

from __future__ import annotations

import json
import re
from operator import attrgetter

from msgspec.structs import astuple
from dataclasses import dataclass, field

import msgspec
import numpy as np
import orjson
import pyarrow as pa

from rdial.extract.normalize import (BadField, FieldPlan, TableSpec, coerce_record, field_plan,
                                     normalize_table, repair_surrogates, rows_to_table)

BOM = b"\xef\xbb\xbf"
MAX_DEPTH = 1000  # deeper lines are `too_deep` (orjson crashes on ~100k levels, stdlib recurses)
_TYPES = {pa.string(): str | None, pa.int64(): int | None, pa.bool_(): bool | None}
_BYTE = re.compile(r"\(byte (\d+)\)")
_INDEX = re.compile(r"\$\[(\d+)\]")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)


def record_struct(spec: TableSpec) -> type:
    """A msgspec Struct of `spec.read_schema`'s fields in their canonical types. Decoded with
    `strict=False`, msgspec itself converts what the eras write ("1251763200", 1706745600.0,
    "false", 1, "null") where its rule equals rdial's; anything else is a type error that sends
    only that line to the reference path."""
    return msgspec.defstruct(f"{spec.kind.title()}Record",
                             [(f.name, _TYPES[f.type], None) for f in spec.read_schema],
                             gc=False)  # 10k Structs a block: not tracked by the collector


def record_decoder(spec: TableSpec) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(record_struct(spec), strict=False)


class LineRejected(ValueError):
    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass
class BlockResult:
    """What one block gives; `BlockParser.parse` applies it (counters, quarantine) in order."""
    table: pa.Table                 # contract schema without source/line, rows in line order
    lines: np.ndarray               # 1-based line number of each row
    bad: list = field(default_factory=list)  # (line, reason, raw, detail), in line order
    blank: int = 0
    repaired: int = 0
    nulled: dict = field(default_factory=dict)
    reference_lines: int = 0        # lines decided by the per-line reference path
    n_lines: int = 0                # lines in the block (the decoder counts them: see `decode`)

    def shifted(self, by: int) -> "BlockResult":
        """Line numbers moved by `by` (a block decoded before its first line was known)."""
        if by:
            self.lines = self.lines + by
            self.bad = [(number + by, *rest) for number, *rest in self.bad]
        return self


# --- the per-line reference ------------------------------------------------------------------------
def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


_STDLIB = json.JSONDecoder(parse_constant=_reject_constant)


def nesting_depth(line: bytes) -> int:
    """Deepest bracket nesting outside strings (only computed when it could exceed MAX_DEPTH)."""
    bare = _STRINGS.sub(b"", line)
    arr = np.frombuffer(bare, dtype=np.uint8)
    step = (np.isin(arr, (91, 123)).astype(np.int32) - np.isin(arr, (93, 125)).astype(np.int32))
    return int(np.cumsum(step).max()) if len(step) else 0


def loads_reference(line: bytes):
    """A valid UTF-8 line -> (value, repaired surrogates?); raises LineRejected(bad_json,
    too_deep or glued_records). orjson first; stdlib json only for what orjson refuses (lone
    surrogates, numbers beyond double range), with NaN/Infinity refused as not JSON."""
    if line.count(b"[") + line.count(b"{") > MAX_DEPTH and nesting_depth(line) > MAX_DEPTH:
        raise LineRejected("too_deep", f"nested deeper than {MAX_DEPTH} levels")
    try:
        return orjson.loads(line), False
    except orjson.JSONDecodeError as exc:
        message = str(exc)
    text = line.decode("utf-8")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    try:
        value, end = _STDLIB.raw_decode(text, start)
        if text[end:].strip(" \t\r\n"):
            try:
                _STDLIB.raw_decode(text, len(text) - len(text[end:].lstrip(" \t\r\n")))
            except ValueError:
                raise LineRejected("bad_json", message) from None
            raise LineRejected("glued_records", f"a second JSON value starts at character {end} "
                                                "(a lost newline)")
    except RecursionError:
        raise LineRejected("too_deep", "nested deeper than this parser allows") from None
    except LineRejected:
        raise
    except ValueError:
        raise LineRejected("bad_json", message) from None
    changed = [0]
    value = _repair(value, changed)
    return value, bool(changed[0])


def _repair(value, changed):
    if isinstance(value, str):
        fixed = repair_surrogates(value)
        if fixed != value:
            changed[0] = 1
        return fixed
    if isinstance(value, dict):
        return {_repair(k, changed): _repair(v, changed) for k, v in value.items()}
    if isinstance(value, list):
        return [_repair(v, changed) for v in value]
    return value


def is_utf8(data) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def reference_line(line: bytes, plan: FieldPlan, max_line_bytes: int, nulled: dict):
    """The per-line verdict: a row (read-schema values), None for a blank line, or
    (reason, detail). Repaired surrogates come back as ("repaired", row)."""
    if not line.strip():
        return None
    if len(line) > max_line_bytes:
        return "line_too_long", f"{len(line)} bytes > --max-line-bytes {max_line_bytes}"
    if b"\0" in line:
        return "nul_byte", None
    if not is_utf8(line):
        return "bad_utf8", None
    try:
        record, repaired = loads_reference(line)
    except LineRejected as exc:
        return exc.reason, exc.detail
    if not isinstance(record, dict):
        return "not_an_object", None
    try:
        row = coerce_record(record, plan, nulled)
    except BadField as exc:
        return f"bad_field:{exc.field}", None
    return ("repaired", row) if repaired else row


# --- the block decoder -----------------------------------------------------------------------------
class BlockDecoder:
    def __init__(self, spec: TableSpec, *, max_line_bytes: int, fast: bool = True):
        """`fast=False`: every line through the per-line reference (the tests' yardstick)."""
        self.spec, self.max_line_bytes, self.fast = spec, max_line_bytes, fast
        self.plan = field_plan(spec)  # once, not per record
        self.decoder = record_decoder(spec)
        self.row_type = pa.struct(list(spec.read_schema))
        required = [p for p in self.plan if p.required]
        self.column_order = [(p, attrgetter(p.name))
                             for p in required + [p for p in self.plan if not p.required]]

    def decode(self, data: bytes, first_line: int | None, n_lines: int | None, *,
               starts_file: bool | None = None) -> BlockResult:
        """Rows, quarantine entries and counters of one block of whole lines. Thread-safe (no
        shared state is written), so blocks are decoded ahead on several threads.

        `n_lines` None: counted here (the line bounds find every newline anyway, so the reader
        need not count them too). `first_line` None: lines are numbered from 1 within the
        block, and `BlockResult.shifted` renumbers them once the block's place is known.
        `starts_file` (default: `first_line == 1`): the file's first block, whose BOM is dropped."""
        if starts_file is None:
            starts_file = first_line == 1
        if first_line is None:
            first_line = 1
        if starts_file and data.startswith(BOM):
            data = data[3:]
        result = BlockResult(table=None, lines=None)
        starts, ends = _line_bounds(data, n_lines)
        result.n_lines = len(starts)
        refs: list[int] = []
        if self.fast:
            records, rec_lines, refs = self._fast(data, starts, ends, result)
        else:
            records, rec_lines = [], np.zeros(0, dtype=np.int64)
            lengths = ends - starts
            result.blank += int(np.count_nonzero(lengths == 0))
            refs = np.flatnonzero(lengths != 0).tolist()
        fast_table, fast_lines, more_refs = self._columns(records, rec_lines, result.nulled)
        refs = sorted(refs + more_refs)
        tables, numbers = [], []
        if fast_table is not None:
            self._normalise(fast_table, fast_lines, data, starts, ends, first_line, result,
                            tables, numbers)
        if refs:
            self._reference(refs, data, starts, ends, first_line, result, tables, numbers)
        if not tables:
            result.table, result.lines = self._empty(), np.zeros(0, dtype=np.int64)
        elif len(tables) == 1:
            result.table, result.lines = tables[0], numbers[0]
        else:
            lines = np.concatenate(numbers)
            order = np.argsort(lines, kind="stable")
            result.table = pa.concat_tables(tables).take(pa.array(order))
            result.lines = lines[order]
        result.bad.sort(key=lambda b: b[0])
        return result

    # --- msgspec over the whole block ------------------------------------------------------------
    def _fast(self, data, starts, ends, result):
        lengths = ends - starts
        empty = lengths == 0
        result.blank += int(np.count_nonzero(empty))
        arr = np.frombuffer(data, dtype=np.uint8)
        ok = ~empty
        idx = np.flatnonzero(ok)
        ok[idx] = (arr[starts[idx]] == 123) & (arr[ends[idx] - 1] == 125)  # { ... }
        ok &= lengths <= self.max_line_bytes
        if b"\0" in data:
            ok[_lines_of(np.flatnonzero(arr == 0), starts)] = False
        if not data.isascii():
            for bad in _bad_utf8_lines(data, starts):
                ok[bad] = False
        refs = np.flatnonzero(~ok & ~empty).tolist()
        cand = np.flatnonzero(ok)
        if not len(cand):
            return [], np.zeros(0, dtype=np.int64), refs
        # Runs of candidate lines with only empty lines between them: one decode each.
        gaps = np.cumsum(~ok & ~empty)[cand]
        cuts = np.flatnonzero(np.diff(gaps)) + 1
        view = memoryview(data)
        parts: list[tuple[int, list]] = []
        rejected: list[int] = []
        bounds = [0, *cuts.tolist(), len(cand)]
        for a, b in zip(bounds, bounds[1:]):
            self._decode_range(view, cand, starts, ends, a, b, parts, rejected)
        parts.sort(key=lambda p: p[0])
        refs += cand[rejected].tolist()
        if not parts:
            return [], np.zeros(0, dtype=np.int64), refs
        records = parts[0][1] if len(parts) == 1 else [r for _, recs in parts for r in recs]
        rec_lines = (cand if len(parts) == 1 and len(records) == len(cand)
                     else np.concatenate([cand[i:i + len(recs)] for i, recs in parts]))
        return records, rec_lines, refs

    def _decode_range(self, view, cand, starts, ends, a, b, parts, rejected):
        stack = [(a, b)]
        while stack:
            i, j = stack.pop()
            lo = int(starts[cand[i]])
            try:
                recs = self.decoder.decode_lines(view[lo:int(ends[cand[j - 1]])])
            except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
                recs, guess = None, _error_line(exc, lo, starts, cand, i, j)
            else:
                if len(recs) == j - i:
                    parts.append((i, recs))
                    continue
                guess = None  # a glued line: more values than lines
            if j - i == 1:
                rejected.append(i)
                continue
            k = guess if guess is not None and i < guess < j else (
                i + 1 if guess == i else (i + j) // 2)
            stack.append((k, j))  # popped second: parts are sorted afterwards anyway
            stack.append((i, k))

    # --- Structs -> Arrow columns ----------------------------------------------------------------
    def _columns(self, records, rec_lines, nulled):
        """(read-schema table, their line indices, lines left to the reference path)."""
        if not len(records):
            return None, None, []
        try:  # every value already has its canonical type: one conversion for the whole block
            rows = pa.array(list(map(astuple, records)), type=self.row_type)
            return pa.Table.from_struct_array(rows), rec_lines, []
        except _ARROW_ERRORS:  # an int beyond int64: column by column, the odd values alone
            pass
        columns, rerouted = {}, []
        for plan, getter in self.column_order:  # required first: they never count `nulled`
            values = list(map(getter, records))
            columns[plan.name] = _column(values, plan, nulled, rerouted)
            if rerouted:  # a required value only the reference can judge
                keep = np.ones(len(records), dtype=bool)
                keep[rerouted] = False
                gone = rec_lines[~keep].tolist()
                table, lines, refs = self._columns([r for r, k in zip(records, keep) if k],
                                                   rec_lines[keep], nulled)
                return table, lines, gone + refs
        table = pa.Table.from_arrays([columns[f.name] for f in self.spec.read_schema],
                                     schema=self.spec.read_schema)
        return table, rec_lines, []

    def _normalise(self, raw, rec_lines, data, starts, ends, first_line, result, tables, numbers):
        table, keep, reasons = normalize_table(raw, self.spec)
        lines = rec_lines.astype(np.int64) + first_line
        if reasons:
            for idx, reason in zip(np.flatnonzero(~keep).tolist(), reasons):
                at = int(rec_lines[idx])
                result.bad.append((int(lines[idx]), reason, data[starts[at]:ends[at]], None))
            table, lines = table.filter(pa.array(keep)), lines[keep]
        tables.append(table)
        numbers.append(lines)

    def _reference(self, refs, data, starts, ends, first_line, result, tables, numbers):
        rows, row_lines = [], []
        for at in refs:
            line = data[starts[at]:ends[at]]
            outcome = reference_line(line, self.plan, self.max_line_bytes, result.nulled)
            result.reference_lines += 1
            if outcome is None:
                result.blank += 1
            elif isinstance(outcome, list):
                rows.append(outcome)
                row_lines.append(at)
            elif outcome[0] == "repaired":
                result.repaired += 1
                rows.append(outcome[1])
                row_lines.append(at)
            else:
                result.bad.append((first_line + at, outcome[0], line, outcome[1]))
        if rows:
            self._normalise(rows_to_table(rows, self.spec), np.asarray(row_lines, dtype=np.int64),
                            data, starts, ends, first_line, result, tables, numbers)

    def _empty(self) -> pa.Table:
        names = [f for f in self.spec.table_schema if f.name not in ("source", "line")]
        return pa.schema(names).empty_table()


def _line_bounds(data: bytes, n_lines: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, newline excluded) offset of each of the block's lines
    (`n_lines` None: every line of `data`, a last one without its newline included)."""
    nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if n_lines is None:
        n_lines = len(nl) + (1 if data and not data.endswith(b"\n") else 0)
    ends = nl if len(nl) >= n_lines else np.append(nl, len(data))
    ends = ends[:n_lines].astype(np.int64)
    starts = np.empty(n_lines, dtype=np.int64)
    if n_lines:
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends


def _lines_of(offsets: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.searchsorted(starts, offsets, side="right") - 1


def _bad_utf8_lines(data: bytes, starts: np.ndarray) -> list[int]:
    """Lines holding invalid UTF-8 (one decode of the block; a rescan after each bad line)."""
    bad, offset = [], 0
    while True:
        try:
            data[offset:].decode("utf-8") if offset else data.decode("utf-8")
            return bad
        except UnicodeDecodeError as exc:
            line = int(_lines_of(np.array([offset + exc.start]), starts)[0])
            bad.append(line)
            if line + 1 >= len(starts):
                return bad
            offset = int(starts[line + 1])


def _error_line(exc, lo, starts, cand, i, j):
    """The candidate index a decode error points at, or None when it does not say."""
    text = str(exc)
    if (m := _BYTE.search(text)) is not None:
        line = int(_lines_of(np.array([lo + int(m.group(1))]), starts)[0])
        return int(np.searchsorted(cand, line))
    if (m := _INDEX.search(text)) is not None:
        return i + int(m.group(1))
    return None


def _column(values: list, plan, nulled: dict, rerouted: list) -> pa.Array:
    """One column in its canonical type, equal to converting each value with `plan.convert`."""
    try:
        return pa.array(values, type=plan.type)
    except _ARROW_ERRORS:
        pass
    out = []
    convert = plan.convert
    for idx, value in enumerate(values):
        try:
            out.append(convert(value))
        except ValueError:
            if plan.required:
                rerouted.append(idx)
            else:
                nulled[plan.name] = nulled.get(plan.name, 0) + 1
            out.append(None)
    return pa.array(out, type=plan.type)
