"""Byte chunks -> blocks of whole lines, with their line numbers.

    python -c "from rdial.extract.lines import line_blocks; print([(b.first_line, b.n_lines) for b in line_blocks([(b'a\\nb', 3), (b'c\\nd\\n', 7)])])"

Lines are split on the byte b"\\n" BEFORE any decoding: a multi-byte UTF-8 character cut by a
chunk edge is simply glued back by the next chunk, and an invalid byte only ever spoils its own
line. A block is ~`target` bytes of complete lines (the parser's unit of work); its
`first_line` is the 1-based number of its first line. A last line without a trailing newline
is a line like any other.

With `count=False` (the streaming path) blocks come out unnumbered (`first_line` and `n_lines`
None): the decoder finds every newline of a block anyway, so `parse.read_ahead` numbers the
blocks from its counts, in order, instead of the reader thread counting them a second time.

When the reader reports damage (`CorruptInputError`), the complete lines read so far come out as
a normal block, the cut-off tail (if any) as a block with `damaged=True`, and then the error is
raised again, so the stage keeps everything before the damage and still learns of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from rdial.extract.readers import CorruptInputError

DEFAULT_BLOCK = 4 * 1024 * 1024  # ~8 blocks are in flight (read ahead, parsed ahead): RSS


@dataclass
class Block:
    data: bytes          # whole lines; ends with b"\n" except possibly the file's last line
    first_line: int | None  # 1-based number of the first line in `data` (None: not yet numbered)
    n_lines: int | None  # how many lines `data` holds (None: not yet counted)
    offset: int = 0      # compressed bytes consumed when this block was cut (for progress)
    damaged: bool = False  # the partial line cut off by damage in the compressed stream
    starts_file: bool | None = None  # the file's first block (a BOM there is dropped)

    def __post_init__(self):
        if self.starts_file is None:
            self.starts_file = self.first_line == 1

    def lines(self) -> list[bytes]:
        """The block's lines without their newlines (the slow path's view)."""
        parts = self.data.split(b"\n")
        if self.data.endswith(b"\n"):
            parts.pop()
        return parts


def newlines(data: bytes) -> int:
    """How many b"\\n" bytes `data` holds. numpy compares 32 bytes an instruction: 4x faster
    than bytes.count, whose one-byte search is a plain loop (0.36 us of a 2019 line's ~6 us)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10)) if data else 0


def _count_lines(data: bytes) -> int:
    return newlines(data) + (0 if data.endswith(b"\n") or not data else 1)


def line_blocks(chunks: Iterable[tuple[bytes, int]], target: int = DEFAULT_BLOCK, *,
                count: bool = True) -> Iterator[Block]:
    """Group (chunk, compressed offset) pairs into blocks of whole lines; `count=False`: leave
    them unnumbered (`parse.read_ahead` numbers them from the decoder's counts)."""
    pending: list[bytes] = []
    size, next_line, offset = 0, 1, 0
    first = True

    def block(data: bytes, n_lines, damaged: bool = False) -> Block:
        nonlocal next_line, first
        n = (n_lines(data) if callable(n_lines) else n_lines) if count or damaged else None
        made = Block(data, next_line if count else None, n, offset, damaged, starts_file=first)
        next_line += n if count else 0
        first = False
        return made

    try:
        for chunk, offset in chunks:
            pending.append(chunk)
            size += len(chunk)
            if size < target:
                continue
            # Cut after the last newline of the newest chunk: one copy (the join), not two.
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:  # no line ends in this chunk: keep reading until one does
                continue
            pending[-1] = memoryview(chunk)[:cut]
            data = b"".join(pending)
            rest = chunk[cut:]
            pending, size = ([rest] if rest else []), len(rest)
            yield block(data, newlines)
    except CorruptInputError:
        data = b"".join(pending)
        cut = data.rfind(b"\n") + 1
        if cut:
            yield block(data[:cut], newlines)
        if data[cut:]:
            yield block(data[cut:], 1, damaged=True)
        raise
    data = b"".join(pending)
    if data:
        yield block(data, _count_lines)
