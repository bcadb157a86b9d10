"""Blocks of lines -> normalised Arrow rows, every bad line quarantined with its reason.

    python -c "from rdial.extract.parse import BlockParser; help(BlockParser.parse)"

Fast path: a block that is valid UTF-8, has no NUL byte and no line over the limit goes whole to
`pyarrow.json` (C++, only the fields of the read schema are materialised; single-threaded: the
reader and the spill threads keep the other core busy, and its thread pool cost 15% more CPU). The
file's era decides how `created_utc` is typed (int, string or float); the parser remembers the
type that worked last and tries the others when a block disagrees.

Slow path, exact by construction: any block the fast path refuses (a malformed line, a blank
line, mixed eras, a string where a number belongs, ...) is parsed line by line with orjson, so
each bad line is quarantined alone and every good line of the block is kept. Both paths end in
the same `normalize_table`, so the output does not depend on which path a block took.

Per-line checks, in order (the first that applies is the reason):
    blank line            skipped, counted as `blank` (it holds nothing to lose)
    line_too_long         longer than --max-line-bytes
    nul_byte              a raw 0x00 byte (an escaped \\u0000 inside a string is fine)
    bad_utf8              not valid UTF-8
    bad_json              not JSON (detail: the parser's message)
    not_an_object         JSON, but not an object
    bad_field:<f>         a required field of the wrong kind (e.g. "id": {...})
    missing_field:<f>     a required field absent or null
"""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pj

from rdial.extract.lines import Block
from rdial.extract.normalize import (CREATED_TYPES, BadField, SlowPathNeeded, TableSpec,
                                     coerce_record, loads_lenient, normalize_table, rows_to_table)
from rdial.extract.quarantine import QuarantineWriter

ARROW_BLOCK = 4 * 1024 * 1024  # pyarrow.json's unit of work (must exceed any line)
FastResult = tuple  # (normalised table, kept-rows mask, reasons of the dropped rows)
NOT_FAST = ()       # read_ahead's answer for a block that goes line by line


def lines_within(data: bytes, limit: int) -> bool:
    """True when no line of `data` is longer than `limit` bytes (newline excluded).

    Jumps from line start to the last newline within `limit` bytes: O(len/limit) searches
    instead of visiting every line."""
    start, n = 0, len(data)
    while n - start > limit:
        nl = data.rfind(b"\n", start, start + limit + 1)
        if nl < 0:
            return False
        start = nl + 1
    return True


def is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class BlockParser:
    def __init__(self, spec: TableSpec, quarantine: QuarantineWriter, *, max_line_bytes: int,
                 fast: bool = True):
        self.spec, self.quarantine, self.max_line_bytes, self.fast = spec, quarantine, max_line_bytes, fast
        self.created_types = list(CREATED_TYPES)
        self.read_options = pj.ReadOptions(block_size=max(ARROW_BLOCK, 2 * max_line_bytes + 2),
                                           use_threads=False)
        self.blank = 0
        self.repaired = 0
        self.nulled: dict[str, int] = {}
        self.fast_blocks = 0
        self.slow_blocks = 0

    def parse(self, block: Block, ahead: "FastResult | None" = None) -> tuple[pa.Table, np.ndarray]:
        """Rows of `block` in the contract schema (no source/line yet) and their line numbers.
        `ahead` is `read_ahead(block)` when it already ran (on another thread)."""
        if block.damaged:
            self.quarantine.add(block.first_line, "truncated", block.data.rstrip(b"\n"),
                                "cut off by damage in the compressed file")
            return self._empty(), np.zeros(0, dtype=np.int64)
        if ahead is None:
            ahead = self.read_ahead(block)
        if ahead is not NOT_FAST:
            self.fast_blocks += 1
            return self._finish_fast(block, ahead)
        self.slow_blocks += 1
        return self._slow(block)

    def read_ahead(self, block: Block) -> "FastResult":
        """The fast path's heavy part: (normalised table, kept mask, reasons), or NOT_FAST when
        the block must go line by line. Touches no counter and no file, so blocks can be read
        ahead on several threads (pyarrow releases the GIL) and finished in order by `parse`."""
        if block.damaged or not (self.fast and self._fast_candidate(block)):
            return NOT_FAST
        try:
            raw = self._read(block.data)
            if raw.num_rows != block.n_lines:  # pyarrow skips blank lines: numbering would shift
                raise SlowPathNeeded("blank lines")
            return normalize_table(raw, self.spec)
        except SlowPathNeeded:
            return NOT_FAST

    def _empty(self) -> pa.Table:
        names = [f for f in self.spec.table_schema if f.name not in ("source", "line")]
        return pa.schema(names).empty_table()

    # --- fast path ---------------------------------------------------------------------------
    def _fast_candidate(self, block: Block) -> bool:
        data = block.data
        return (block.n_lines > 0 and b"\0" not in data and is_utf8(data)
                and lines_within(data, self.max_line_bytes))

    def _read(self, data: bytes) -> pa.Table:
        order = self.created_types  # replaced, never mutated: read_ahead runs on several threads
        for i, created in enumerate(order):
            options = pj.ParseOptions(explicit_schema=self.spec.json_schema(created),
                                      unexpected_field_behavior="ignore")
            try:
                raw = pj.read_json(pa.BufferReader(data), read_options=self.read_options,
                                   parse_options=options)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            if i:  # this era's type first from now on
                self.created_types = [created] + [t for t in order if t != created]
            return raw
        raise SlowPathNeeded("no created_utc type fits the whole block")

    def _finish_fast(self, block: Block, ahead: "FastResult") -> tuple[pa.Table, np.ndarray]:
        table, keep, reasons = ahead
        lines = np.arange(block.first_line, block.first_line + block.n_lines, dtype=np.int64)
        if reasons:
            raws = block.lines()
            for idx, reason in zip(np.flatnonzero(~keep).tolist(), reasons):
                self.quarantine.add(int(lines[idx]), reason, raws[idx])
            table, lines = table.filter(pa.array(keep)), lines[keep]
        return table, lines

    # --- slow path ---------------------------------------------------------------------------
    def _slow(self, block: Block) -> tuple[pa.Table, np.ndarray]:
        rows, numbers, raws, bad = [], [], [], []
        for i, line in enumerate(block.lines()):
            number = block.first_line + i
            outcome = self._one_line(line)
            if outcome is None:
                continue
            if isinstance(outcome, tuple):  # (reason, detail)
                bad.append((number, outcome[0], line, outcome[1]))
                continue
            rows.append(outcome)
            numbers.append(number)
            raws.append(line)
        table, keep, reasons = normalize_table(rows_to_table(rows, self.spec), self.spec)
        lines = np.asarray(numbers, dtype=np.int64)
        if reasons:
            for idx, reason in zip(np.flatnonzero(~keep).tolist(), reasons):
                bad.append((numbers[idx], reason, raws[idx], None))
            table, lines = table.filter(pa.array(keep)), lines[keep]
        for number, reason, line, detail in sorted(bad, key=lambda b: b[0]):
            self.quarantine.add(number, reason, line, detail)
        return table, lines

    def _one_line(self, line: bytes):
        """A row (list of read-schema values), None for a blank line, or (reason, detail)."""
        if not line.strip():
            self.blank += 1
            return None
        if len(line) > self.max_line_bytes:
            return "line_too_long", f"{len(line)} bytes > --max-line-bytes {self.max_line_bytes}"
        if b"\0" in line:
            return "nul_byte", None
        if not is_utf8(line):
            return "bad_utf8", None
        try:
            record, repaired = loads_lenient(line)
        except ValueError as exc:
            return "bad_json", str(exc)
        if not isinstance(record, dict):
            return "not_an_object", None
        self.repaired += repaired
        try:
            return coerce_record(record, self.spec, self.nulled)
        except BadField as exc:
            return f"bad_field:{exc.field}", None


def read_ahead(blocks: Iterable[Block], parser: BlockParser, *, threads: int = 2,
               depth: int = 3) -> Iterator[tuple[Block, FastResult]]:
    """(block, parser.read_ahead(block)) in input order, up to `depth` blocks parsed ahead on
    `threads` threads: parsing was the one thread at 100% while the reader idled at 35%.
    An error of `blocks` (damage in the compressed file) is raised after the blocks before it."""
    source, pending, error = iter(blocks), deque(), None
    with contextlib.closing(source) if hasattr(source, "close") else contextlib.nullcontext(), \
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="parse") as pool:
        while True:
            try:
                block = next(source)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the earlier blocks
                error = exc
                break
            pending.append((block, pool.submit(parser.read_ahead, block)))
            if len(pending) > depth:
                block, future = pending.popleft()
                yield block, future.result()
        while pending:
            block, future = pending.popleft()
            yield block, future.result()
    if error is not None:
        raise error


def array_blocks(data: bytes, name: str) -> list[Block]:
    """A JSON array file (BigQuery exports: `[{...}, {...}]`) as one block of NDJSON lines;
    element i becomes line i (1-based) of the output."""
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        from rdial.errors import InputError

        raise InputError(f"{name}: starts with '[' but is not a JSON array ({exc})") from exc
    if not isinstance(items, list):
        items = [items]
    lines = [orjson.dumps(item) for item in items]
    return [Block(b"\n".join(lines) + b"\n", 1, len(lines))] if lines else []
