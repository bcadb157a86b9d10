"""The block decode path against the per-line reference: for every line of seeded random blocks
(good lines, drifted types, blank lines, glued objects, deep nesting, BOM, NaN, bad UTF-8, ...
across block borders) the same row or the same quarantine entry; and the verdicts of issue 14."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from rdial.extract.lines import line_blocks
from rdial.extract.normalize import COMMENT_SPEC
from rdial.extract.parse import BlockParser, read_ahead
from rdial.extract.quarantine import QuarantineWriter

DEEP = b'{"id": "deep", "link_id": "t3_a", "parent_id": "t3_a", "body": "x", "junk": ' + \
    b"[" * 1500 + b"]" * 1500 + b"}"


def good(rng: random.Random, i: int, odd: bool = False) -> dict:
    """A comment with the type drift real months have; `odd`: values only the per-line rules
    can judge (a string that is not a number, an int beyond int64, a non-integral time, ...)."""
    created = 1134365188 + i
    record = {
        "id": rng.choice([f"c{i:x}", f"t1_c{i:x}"]), "link_id": rng.choice(["t3_a1", "a1", "t3_b2"]),
        "parent_id": rng.choice(["t3_a1", "a1", f"t1_c{max(i - 1, 0):x}", f"c{i + 7:x}"]),
        "body": rng.choice(["hi", "caf\u00e9", "\U0001f600 x", "a\nb", "tab\there", ""]),
        "author": rng.choice(["someone", "[deleted]", None, "null"]),
        "subreddit": "reddit.com",
        "created_utc": rng.choice([created, str(created), float(created), f"{created}.0", "1.134365188e9"]),
        "score": rng.choice([2, -5, "3", 4.0, None, 2**63 - 1, -2**63, "null", "NULL"]),
        "edited": rng.choice([False, True, 1134369999, 1134369999.5, "false"]),
        "stickied": rng.choice([False, True, 0, 1, "true", "false", "True", None, "Null"]),
        "distinguished": rng.choice([None, "moderator"]),
        "retrieved_on": rng.choice([1473738411, "1473738411", None]),
        "gilded": rng.choice([0, {"x": [1, 2]}, "one"]),
    }
    if odd:
        field, value = rng.choice([
            ("score", "lots"), ("score", True), ("score", 2**63), ("score", 1e300),
            ("score", float(2**62)), ("score", 2**60 + 1.5), ("score", " 7"), ("score", "+8"),
            ("score", "1_000"), ("score", ""), ("score", "01"), ("score", "1e400"),
            ("created_utc", created + 0.5), ("created_utc", "1134365188.5"), ("created_utc", 1e16),
            ("stickied", "yes"), ("stickied", ""), ("stickied", 2), ("stickied", 1.0),
            ("stickied", " true"), ("distinguished", 7), ("distinguished", 1.5), ("id", 12345),
            ("link_id", 17), ("author", True), ("retrieved_on", [1]), ("id", 10**30)])
        record[field] = value
    return record


def line_of(rng: random.Random, i: int) -> tuple[str, bytes]:
    """("plain", a line with realistic drift) 65% of the time, else ("odd", any other class)."""
    kind = rng.random()
    if kind < 0.65:
        return "plain", orjson.dumps(good(rng, i))
    if kind < 0.75:
        return "odd", json.dumps(good(rng, i, odd=True)).encode()  # ints beyond 64 bits too
    base = orjson.dumps(good(rng, i))
    return "odd", rng.choice([
        b"", b"   ", b"\r", b" \t ",                                    # blank
        base + orjson.dumps(good(rng, i + 1)),                          # glued: a lost newline
        base + b" " + orjson.dumps(good(rng, i + 1)),
        DEEP,                                                           # too_deep
        b'{"id": "d9", "link_id": "t3_a", "parent_id": "t3_a", "body": "x", "j": '
        + b"[" * 995 + b"]" * 995 + b"}",                               # deep, still allowed
        b"\xef\xbb\xbf" + base,                                         # BOM (first line: kept)
        b"NaN", b'{"id": "n", "link_id": "t3_a", "parent_id": "t3_a", "body": "x", "s": NaN}',
        b"null", b"[1, 2]", b'"just a string"', b"17",
        base.replace(b'"subreddit":"reddit.com"', b'"subreddit":"\xff\xfe"'),   # bad UTF-8
        base[:-1] + b',"ignored":"\xc0\x80"}',                                  # ... ignored field
        base[:-1] + b',"ignored":"a\x00b"}', base.replace(b"reddit.com", b"red\x00dit"),
        base[:-1] + b',"ignored":1e999}', base[:-1] + b',"score2":' + b"9" * 30 + b"}",
        base[:-1] + b',"ignored":"lone \\ud83d"}',
        base.replace(b'"body":', b'"body":"lone \\udc00 ok","b0":'),
        b'{"id": ', b'{"a":', b'1}', b'{"id": "x", "link_id": "t3_a"',      # truncated / split
        b'{"link_id": "t3_a", "parent_id": "t3_a", "body": "no id"}',
        b'{"id": {"x": 1}, "link_id": "t3_a", "parent_id": "t3_a", "body": "b"}',
        b'{"id": true, "link_id": "t3_a", "parent_id": "t3_a", "body": "b"}',
        b'{"id": 12345, "link_id": 17, "parent_id": "t3_a", "body": "b"}',
        b'{"id": "dup", "id": "dup2", "link_id": "t3_a", "parent_id": "t3_a", "body": "b"}',
        b" " + base, base + b" ", base + b"\r",                              # JSON whitespace
        b"\x0c" + base, base + b"x", b"{}", b"{ }",
        base.replace(b"{", b"{\"body\": \"" + b"w" * 9000 + b"\", ", 1),      # line_too_long
    ])


def run(data: bytes, tmp_path, name: str, *, fast: bool, threads: int, chunk: int, procs=None):
    q = QuarantineWriter(tmp_path / f"{name}.jsonl", tmp_path / f"{name}-staging")
    parser = BlockParser(COMMENT_SPEC, q, max_line_bytes=8192, fast=fast, procs=procs)
    chunks = [(data[i:i + chunk], i) for i in range(0, len(data), chunk)]
    rows = {}
    n_lines = 0
    for block, ahead in read_ahead(line_blocks(chunks, target=3000), parser, threads=threads):
        n_lines += block.n_lines
        table, numbers = parser.parse(block, ahead)
        for number, row in zip(numbers.tolist(), table.to_pylist()):
            assert number not in rows
            rows[number] = row
    q.close()
    entries = {}
    for raw in q.tmp.read_bytes().splitlines() if q.tmp.exists() else []:
        entry = orjson.loads(raw)
        assert entry["line"] not in entries
        entries[entry["line"]] = (entry["reason"], entry.get("raw"), entry.get("raw_base64"))
    assert len(rows) + parser.blank + len(entries) == n_lines
    return rows, entries, (parser.blank, parser.repaired, dict(parser.nulled)), parser


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_path_equals_the_per_line_reference_for_every_line(tmp_path, seed):
    rng = random.Random(seed)
    kinds, lines = zip(*(line_of(rng, i) for i in range(1500)))
    lines = list(lines)
    lines[0] = b"\xef\xbb\xbf" + orjson.dumps(good(rng, 99999))  # a BOM on the first record
    data = b"\n".join(lines) + rng.choice([b"\n", b""])
    chunk = rng.randrange(500, 5000)
    ref = run(data, tmp_path, "ref", fast=False, threads=1, chunk=chunk)
    fast = run(data, tmp_path, "fast", fast=True, threads=2, chunk=chunk)
    assert fast[0] == ref[0]  # every row, with its line number
    assert fast[1] == ref[1]  # every quarantine entry: line, reason, raw bytes
    assert fast[2] == ref[2]  # blank, repaired, nulled
    parser = fast[3]
    # every line with realistic drift stayed on the block path; only the odd ones left it
    assert parser.reference_lines <= kinds.count("odd") < 0.4 * len(lines)
    rows, entries = ref[0], ref[1]
    assert 1 in rows  # the BOM before the first record is dropped
    reasons = {reason for reason, _, _ in entries.values()}
    assert {"glued_records", "too_deep", "bad_json", "not_an_object", "bad_utf8", "nul_byte",
            "line_too_long", "bad_field:id", "missing_field:id"} <= reasons
    for number, line in enumerate(lines, 1):  # each class gets its verdict
        if line == DEEP:
            assert entries[number][0] == "too_deep"
        elif line in (b"NaN", b"null"):
            assert entries[number][0] == ("bad_json" if line == b"NaN" else "not_an_object")
        elif line.startswith(b"\xef\xbb\xbf") and number > 1:
            assert entries[number][0] == "bad_json"


def test_any_thread_count_and_block_size_gives_the_same_result(tmp_path):
    rng = random.Random(11)
    data = b"\n".join(line_of(rng, i)[1] for i in range(800)) + b"\n"
    first = run(data, tmp_path, "a", fast=True, threads=1, chunk=700)
    for threads, chunk in ((2, 3001), (5, 131)):
        got = run(data, tmp_path, f"t{threads}", fast=True, threads=threads, chunk=chunk)
        assert got[:3] == first[:3]


@pytest.mark.parametrize("seed", [4, 5])
def test_blocks_decoded_in_worker_processes_equal_the_per_line_reference(tmp_path, seed):
    """The same fuzzed blocks through 2 decode worker processes (rdial.extract.decode_procs):
    every row, quarantine entry (raw bytes included) and counter is the reference's."""
    from rdial.extract.decode_procs import DecodeProcesses

    rng = random.Random(seed)
    lines = [line_of(rng, i)[1] for i in range(1500)]
    lines[0] = b"\xef\xbb\xbf" + orjson.dumps(good(rng, 99999))
    data = b"\n".join(lines) + rng.choice([b"\n", b""])
    chunk = rng.randrange(500, 5000)
    ref = run(data, tmp_path, "ref", fast=False, threads=1, chunk=chunk)
    with DecodeProcesses(2, kind="comments", max_line_bytes=8192, name="RC_fuzz.zst") as procs:
        got = run(data, tmp_path, "procs", fast=True, threads=2, chunk=chunk, procs=procs)
    assert got[0] == ref[0] and got[1] == ref[1] and got[2] == ref[2]
    assert len(ref[1]) > 100 and len(ref[0]) > 1000  # the fuzz reached both verdicts
    assert got[3].reference_lines > 0  # odd lines went through the reference in the workers
