"""Era normalisation (both parse paths give the same rows), kinds by name and content, and the
thread bucket of fixed ids."""

from __future__ import annotations

import random

import orjson
import pyarrow as pa
import pytest

from rdial.extract.lines import Block
from rdial.extract.normalize import COMMENT_SPEC, SUBMISSION_SPEC, kind_from_name, kind_from_record
from rdial.extract.parse import BlockParser
from rdial.extract.quarantine import QuarantineWriter


def parse(lines: list[bytes], spec=COMMENT_SPEC, fast=True, tmp=None):
    q = QuarantineWriter(tmp / "q.jsonl")
    parser = BlockParser(spec, q, max_line_bytes=1 << 20, fast=fast)
    data = b"\n".join(lines) + b"\n"
    table, numbers = parser.parse(Block(data, 1, len(lines)))
    q.abort()
    return table, numbers.tolist(), parser


ERAS = {  # the same comment as four eras wrote it
    "2005 int": {"created_utc": 1134365188},
    "2009 string": {"created_utc": "1134365188"},
    "2024 float": {"created_utc": 1134365188.0},
    "odd exponent string": {"created_utc": "1.134365188e9"},
}


@pytest.mark.parametrize("era", list(ERAS))
@pytest.mark.parametrize("fast", [True, False])
def test_created_utc_of_every_era_becomes_int_seconds(rx, tmp_path, era, fast):
    lines = [rx.comment("c13", "t3_17863", **ERAS[era]), rx.comment("c14", "t3_17866", **ERAS[era])]
    table, numbers, parser = parse(lines, fast=fast, tmp=tmp_path)
    assert table.column("created_utc").to_pylist() == [1134365188, 1134365188]
    assert table.schema.field("created_utc").type == pa.int64()
    assert numbers == [1, 2]
    assert parser.fast_blocks == (1 if fast else 0)


@pytest.mark.parametrize("fast", [True, False])
def test_ids_get_their_canonical_prefixes(rx, tmp_path, fast):
    lines = [
        rx.comment("c13", "17863", "17863"),           # bare link and bare parent = the thread
        rx.comment("c14", "17863", "c13"),             # bare parent = a comment
        rx.comment("t1_c15", "t3_17863", "t1_c14"),    # prefixed id
        rx.comment(..., "t3_17863", "t1_c14", name="t1_c16"),  # id only in `name`
    ]
    table, _, _ = parse(lines, fast=fast, tmp=tmp_path)
    assert table.select(["id", "link_id", "parent_id"]).to_pylist() == [
        {"id": "c13", "link_id": "t3_17863", "parent_id": "t3_17863"},
        {"id": "c14", "link_id": "t3_17863", "parent_id": "t1_c13"},
        {"id": "c15", "link_id": "t3_17863", "parent_id": "t1_c14"},
        {"id": "c16", "link_id": "t3_17863", "parent_id": "t1_c14"},
    ]


def test_bigquery_style_strings_for_numbers_and_booleans(tmp_path):
    line = orjson.dumps({"id": "dveh7r5", "link_id": "t3_82ymmx", "parent_id": "t1_dvedzte",
                         "body": "Yes. ", "score": "1", "retrieved_on": "1524963292",
                         "created_utc": "1520550110", "stickied": "false", "distinguished": None})
    table, _, parser = parse([line], tmp=tmp_path)
    row = table.to_pylist()[0]
    assert (row["score"], row["retrieved_on"], row["created_utc"], row["stickied"]) == (
        1, 1524963292, 1520550110, False)
    assert (parser.fast_blocks, parser.reference_lines) == (1, 0)  # drifted types: block path


def test_an_unreadable_optional_value_becomes_null_and_is_counted(rx, tmp_path):
    table, _, parser = parse([rx.comment("c1", "t3_a", score="lots"), rx.comment("c2", "t3_a")],
                             tmp=tmp_path)
    assert table.column("score").to_pylist() == [None, 2]
    assert parser.nulled == {"score": 1}


def test_fast_and_slow_paths_give_identical_rows(rx, tmp_path):
    rng = random.Random(7)
    lines = [rx.comment(f"c{i}", f"t3_{rng.randrange(50):x}", rng.choice([None, f"t1_c{i - 1}"]),
                        body=rng.choice(["hi", "caf\u00e9", "\U0001f600 x", "a\\nb"]),
                        score=rng.randrange(-5, 100), stickied=rng.random() < 0.1,
                        distinguished=rng.choice([None, "moderator"]))
             for i in range(500)]
    fast, _, p1 = parse(lines, fast=True, tmp=tmp_path)
    slow, _, p2 = parse(lines, fast=False, tmp=tmp_path)
    assert (p1.fast_blocks, p2.slow_blocks) == (1, 1)
    assert fast.equals(slow)


def test_submissions_keep_a_missing_title_as_null(rx, tmp_path):
    lines = [rx.submission("t3_abc", title=...), rx.submission("def", over_18=True)]
    table, _, _ = parse(lines, spec=SUBMISSION_SPEC, tmp=tmp_path)
    assert table.select(["id", "title", "over_18"]).to_pylist() == [
        {"id": "abc", "title": None, "over_18": False}, {"id": "def", "title": "a title", "over_18": True}]


def test_kind_by_name_then_by_first_record():
    assert [kind_from_name(n) for n in ("RC_2005-12.zst", "RS_2019-10.bz2", "rc_2006-01.xz",
                                        "AskMen_submissions_2019-10.zst", "test_comments.json",
                                        "RC_thread_n49rw.ndjson", "thread.json")] == [
        "comments", "submissions", "comments", "submissions", "comments", "comments", None]
    assert kind_from_record({"title": "t", "body": "b"}) == "submissions"
    assert kind_from_record({"body": "b"}) == "comments"
    assert kind_from_record({"x": 1}) is None and kind_from_record([1]) is None
