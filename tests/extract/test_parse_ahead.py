"""Blocks parsed ahead on threads: same rows, same order, same quarantine as one at a time, and
damage in the compressed file still comes after every block before it."""

from __future__ import annotations

import json

import pytest

from rdial.extract.lines import Block
from rdial.extract.normalize import COMMENT_SPEC
from rdial.extract.parse import BlockParser, read_ahead
from rdial.extract.quarantine import QuarantineWriter
from rdial.extract.readers import CorruptInputError


def blocks_of(rx, sizes: list[int]) -> list[Block]:
    """Consecutive blocks of 2005-era comments; line 3 of the second block is broken."""
    blocks, first = [], 1
    for b, size in enumerate(sizes):
        lines = rx.many_comments(size, threads=7, start=first)
        if b == 1:
            lines[2] = b'{"id": "cx", "body": '
        blocks.append(Block(b"\n".join(lines) + b"\n", first, size))
        first += size
    return blocks


def run(blocks, tmp_path, name: str, threads: int):
    q = QuarantineWriter(tmp_path / f"{name}.jsonl", tmp_path / f"{name}-staging")
    parser = BlockParser(COMMENT_SPEC, q, max_line_bytes=1 << 20)
    ids, lines = [], []
    for block, ahead in read_ahead(blocks, parser, threads=threads, depth=2):
        table, numbers = parser.parse(block, ahead)
        ids += table.column("id").to_pylist()
        lines += numbers.tolist()
    q.close()
    return ids, lines, dict(q.counts), (parser.fast_blocks, parser.slow_blocks)


def test_parsed_ahead_equals_one_at_a_time(rx, tmp_path):
    blocks = blocks_of(rx, [40, 30, 50, 20, 10])
    ahead = run(blocks, tmp_path, "ahead", threads=2)
    alone = run(blocks, tmp_path, "alone", threads=1)
    assert ahead == alone
    ids, lines, counts, paths = ahead
    assert len(ids) == 149 and lines == [n for n in range(1, 151) if n != 43]
    assert ids[:2] == ["c1", "c2"] and ids[-1] == "c96"  # hex ids of lines 1, 2 and 150
    assert counts == {"bad_json": 1}
    assert paths == (4, 1)  # only the block with the broken line had a line judged alone


def test_damage_is_raised_after_the_blocks_before_it(rx, tmp_path):
    good = blocks_of(rx, [5, 6, 7])

    def damaged():
        yield from good
        raise CorruptInputError(tmp_path / "RC_x.zst", 1234, "corrupt zst data")

    parser = BlockParser(COMMENT_SPEC, QuarantineWriter(tmp_path / "q.jsonl"), max_line_bytes=1 << 20)
    seen = []
    with pytest.raises(CorruptInputError, match="offset 1234"):
        for block, ahead in read_ahead(damaged(), parser, threads=2, depth=1):
            seen.append((block.first_line, ahead.reference_lines))
    assert seen == [(1, 0), (6, 1), (12, 0)]  # the broken line alone left the block path


def test_unnumbered_blocks_are_numbered_from_the_decoder_as_counted_ones_are(rx, tmp_path):
    """The streaming path leaves line counting to the decoder (`line_blocks(count=False)`):
    block numbers, row line numbers and quarantine entries are those of counted blocks, BOM,
    blank lines, bad lines and a damaged tail included."""
    from rdial.extract.lines import line_blocks

    lines = rx.many_comments(60, threads=7)
    lines[0] = b"\xef\xbb\xbf" + lines[0]            # a BOM before line 1: dropped
    lines[9], lines[30] = b"", b'{"id": "cx", "body": '  # a blank line, a bad one
    data = b"\n".join(lines) + b"\n" + b'{"id": "cut'  # a partial last line, then damage

    def chunks():
        for i in range(0, len(data), 700):
            yield data[i:i + 700], i
        raise CorruptInputError(tmp_path / "RC_x.zst", 99, "corrupt zst data")

    def run_count(count: bool, name: str):
        q = QuarantineWriter(tmp_path / f"{name}.jsonl", tmp_path / f"{name}-staging")
        parser = BlockParser(COMMENT_SPEC, q, max_line_bytes=1 << 20)
        seen, rows = [], []
        with pytest.raises(CorruptInputError):
            for block, ahead in read_ahead(line_blocks(chunks(), target=2000, count=count), parser,
                                           threads=2, depth=1):
                seen.append((block.first_line, block.n_lines, block.damaged))
                table, numbers = parser.parse(block, ahead)
                rows += zip(numbers.tolist(), table.column("id").to_pylist())
        q.close()
        return seen, rows, q.tmp.read_text(), parser.blank

    counted, unnumbered = run_count(True, "counted"), run_count(False, "unnumbered")
    assert unnumbered == counted
    seen, rows, quarantine, blank = unnumbered
    assert seen[-1] == (61, 1, True) and sum(n for _, n, _ in seen) == 61
    assert [n for n, _ in rows] == [n for n in range(1, 61) if n not in (10, 31)]
    assert rows[0] == (1, "c0") and blank == 1  # the BOM did not spoil line 1
    assert [(e["line"], e["reason"]) for e in map(json.loads, quarantine.splitlines())] == [
        (31, "bad_json"), (61, "truncated")]
