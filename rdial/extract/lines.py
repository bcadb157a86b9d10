"""Byte chunks -> blocks of whole lines, with their line numbers.

    python -c "from rdial.extract.lines import line_blocks; print([(b.first_line, b.n_lines) for b in line_blocks([(b'a\\nb', 3), (b'c\\nd\\n', 7)])])"

Lines are split on the byte b"\\n" BEFORE any decoding: a multi-byte UTF-8 character cut by a
chunk edge is simply glued back by the next chunk, and an invalid byte only ever spoils its own
line. A block is ~`target` bytes of complete lines (the parser's unit of work); its
`first_line` is the 1-based number of its first line. A last line without a trailing newline
is a line like any other.

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
    first_line: int      # 1-based number of the first line in `data`
    n_lines: int         # how many lines `data` holds
    offset: int = 0      # compressed bytes consumed when this block was cut (for progress)
    damaged: bool = False  # the partial line cut off by damage in the compressed stream

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


def line_blocks(chunks: Iterable[tuple[bytes, int]], target: int = DEFAULT_BLOCK) -> Iterator[Block]:
    """Group (chunk, compressed offset) pairs into blocks of whole lines."""
    pending: list[bytes] = []
    size, next_line, offset = 0, 1, 0
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
            pending[-1] = chunk[:cut]
            data = b"".join(pending)
            rest = chunk[cut:]
            pending, size = ([rest] if rest else []), len(rest)
            block = Block(data, next_line, newlines(data), offset)
            next_line += block.n_lines
            yield block
    except CorruptInputError:
        data = b"".join(pending)
        cut = data.rfind(b"\n") + 1
        if cut:
            block = Block(data[:cut], next_line, newlines(data[:cut]), offset)
            next_line += block.n_lines
            yield block
        if data[cut:]:
            yield Block(data[cut:], next_line, 1, offset, damaged=True)
        raise
    data = b"".join(pending)
    if data:
        yield Block(data, next_line, _count_lines(data), offset)
