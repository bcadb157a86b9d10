"""Line blocks: split on bytes before decoding, numbering across blocks, the damaged tail."""

from __future__ import annotations

import pytest

from rdial.extract.lines import line_blocks
from rdial.extract.readers import CorruptInputError


def _chunks(data: bytes, size: int):
    return [(data[i:i + size], i + size) for i in range(0, len(data), size)]


def test_multibyte_characters_cut_by_chunk_edges_come_back_whole():
    lines = ["caf\u00e9", "\U0001f600\U0001f600", "\u65e5\u672c\u8a9e", "plain"]
    data = "\n".join(lines).encode() + b"\n"
    for size in range(1, 8):  # every possible cut through the 2-, 3- and 4-byte characters
        blocks = list(line_blocks(_chunks(data, size), target=5))
        got = [line.decode("utf-8") for b in blocks for line in b.lines()]
        assert got == lines
        assert sum(b.n_lines for b in blocks) == 4


def test_line_numbers_follow_blocks_and_the_last_line_needs_no_newline():
    data = b"a\nbb\nccc\ndddd"
    blocks = list(line_blocks(_chunks(data, 3), target=4))
    assert [(b.first_line, b.n_lines, b.data) for b in blocks] == [
        (1, 2, b"a\nbb\n"), (3, 1, b"ccc\n"), (4, 1, b"dddd")]


def test_damage_yields_complete_lines_then_the_partial_tail_then_the_error(tmp_path):
    def chunks():
        yield b"x1\nx2\nx3", 10
        raise CorruptInputError(tmp_path / "RC_x.zst", 10, "truncated zst data")

    got = []
    with pytest.raises(CorruptInputError):
        for block in line_blocks(chunks(), target=1 << 20):
            got.append(block)
    assert [(b.first_line, b.n_lines, b.data, b.damaged) for b in got] == [
        (1, 2, b"x1\nx2\n", False), (3, 1, b"x3", True)]
