"""Blocks of lines -> normalised Arrow rows, every bad line quarantined with its reason.

    python -c "from rdial.extract.parse import BlockParser; help(BlockParser.parse)"

One decode path for every block (`rdial.extract.decode.BlockDecoder`): msgspec decodes the
block's lines into rdial's fields, whatever type each era wrote them in, and only the lines it
does not accept (found by splitting the block at the error) are judged one by one by the
per-line reference path; the lines around them stay on the block path. Both end in the same
`normalize_table`. Decoding touches no counter and no file, so blocks are decoded ahead on
`--threads` threads (msgspec and Arrow release the GIL for the heavy part) and finished here, in
input order: line numbers, quarantine, counters.

Per-line checks, in order (the first that applies is the reason):
    blank line            skipped, counted as `blank` (it holds nothing to lose)
    line_too_long         longer than --max-line-bytes
    nul_byte              a raw 0x00 byte (an escaped \\u0000 inside a string is fine)
    bad_utf8              not valid UTF-8
    too_deep              nested deeper than 1,000 levels (decoders recurse or crash)
    glued_records         two JSON values on one line (a lost newline); the line is kept whole
    bad_json              not JSON (detail: the parser's message); NaN/Infinity are not JSON
    not_an_object         JSON, but not an object (`null`, `[1, 2]`, `"x"`)
    bad_field:<f>         a required field of the wrong kind (e.g. "id": {...})
    missing_field:<f>     a required field absent or null
A UTF-8 byte-order mark before the first line of a file is dropped.
"""

from __future__ import annotations

import contextlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np
import orjson
import pyarrow as pa

from rdial.extract.decode import BlockDecoder, BlockResult
from rdial.extract.lines import Block
from rdial.extract.normalize import TableSpec
from rdial.extract.quarantine import QuarantineWriter


class BlockParser:
    def __init__(self, spec: TableSpec, quarantine: QuarantineWriter, *, max_line_bytes: int,
                 fast: bool = True, procs=None):
        """`fast=False` sends every line through the per-line reference path (for tests).
        `procs`: a `decode_procs.DecodeProcesses` that decodes the blocks in worker processes
        (same results: `read_ahead` then only waits on its pipes)."""
        self.spec, self.quarantine, self.max_line_bytes = spec, quarantine, max_line_bytes
        self.decoder = BlockDecoder(spec, max_line_bytes=max_line_bytes, fast=fast)
        self.procs = procs
        self.blank = 0
        self.repaired = 0
        self.nulled: dict[str, int] = {}
        self.fast_blocks = 0       # blocks whose every line took the block path
        self.slow_blocks = 0       # blocks with at least one line judged one by one
        self.reference_lines = 0   # lines judged one by one

    def parse(self, block: Block, ahead: BlockResult | None = None) -> tuple[pa.Table, np.ndarray]:
        """Rows of `block` in the contract schema (no source/line yet) and their line numbers.
        `ahead` is `read_ahead(block)` when it already ran (on another thread)."""
        if block.damaged:
            self.quarantine.add(block.first_line, "truncated", block.data.rstrip(b"\n"),
                                "cut off by damage in the compressed file")
            return self.decoder._empty(), np.zeros(0, dtype=np.int64)
        result = ahead if ahead is not None else self.read_ahead(block)
        self.blank += result.blank
        self.repaired += result.repaired
        for name, n in result.nulled.items():
            self.nulled[name] = self.nulled.get(name, 0) + n
        self.reference_lines += result.reference_lines
        if result.reference_lines:
            self.slow_blocks += 1
        else:
            self.fast_blocks += 1
        for number, reason, raw, detail in result.bad:
            self.quarantine.add(number, reason, raw, detail)
        return result.table, result.lines

    def read_ahead(self, block: Block) -> BlockResult | None:
        """The heavy part (decode, columns, era rules) of one block; None for a damaged tail.
        Touches no counter and no file: safe on several threads, finished in order by `parse`."""
        if block.damaged:
            return None
        return (self.procs or self.decoder).decode(block.data, block.first_line, block.n_lines,
                                                   starts_file=block.starts_file)


def read_ahead(blocks: Iterable[Block], parser: BlockParser, *, threads: int = 2,
               depth: int = 3) -> Iterator[tuple[Block, BlockResult | None]]:
    """(block, parser.read_ahead(block)) in input order, up to `depth` blocks parsed ahead on
    `threads` threads: parsing was the one thread at 100% while the reader idled at 35%.
    Unnumbered blocks (`line_blocks(count=False)`) are numbered here, in order, from the
    decoder's line counts, and their results renumbered to match.
    An error of `blocks` (damage in the compressed file) is raised after the blocks before it."""
    source, pending, error = iter(blocks), deque(), None
    next_line = 1

    def numbered(block: Block, result: BlockResult | None):
        nonlocal next_line
        if block.first_line is None:
            block.first_line = next_line
            if block.n_lines is None:
                block.n_lines = result.n_lines
            if result is not None:
                result.shifted(next_line - 1)
        next_line = block.first_line + block.n_lines
        return block, result

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
                yield numbered(block, future.result())
        while pending:
            block, future = pending.popleft()
            yield numbered(block, future.result())
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
