"""Bad input loses nothing: each bad line is quarantined verbatim with its line number and
reason, counted, and every good line around it is kept."""

from __future__ import annotations

import base64
import json

import orjson

from rdial.extract.stage import ExtractConfig, run_extract


def extract(path, out, **kw):
    cfg = ExtractConfig(inputs=[path], out=out, buckets=8, workers=1, progress=False, **kw)
    return run_extract(cfg)


def quarantined(out, name):
    path = out / "quarantine" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_bad_line_kind_is_quarantined_once_with_its_reason(rx, dumps, tmp_path):
    c = rx.comment
    bad_utf8 = c("u1", "t3_a", body="BODY").replace(b"BODY", b"\xff\xfe")
    nul = c("n1", "t3_a", body="BODY").replace(b"BODY", b"a\x00b")
    lines = [
        c("c1", "t3_a"),                                   # 1 good
        b'{"id": "x", "link_id": ',                        # 2 bad_json
        bad_utf8,                                          # 3 bad_utf8
        nul,                                               # 4 nul_byte
        c("long", "t3_a", body="w" * 3000),                # 5 line_too_long (limit 2048)
        b"[1, 2, 3]",                                      # 6 not_an_object
        c(..., "t3_a"),                                    # 7 missing_field:id
        c("m2", ...),                                      # 8 missing_field:link_id
        c("m3", "t3_a", parent_id=None),                   # 9 missing_field:parent_id (null)
        c("m4", "t3_a", body=...),                         # 10 missing_field:body
        c({"x": 1}, "t3_a"),                               # 11 bad_field:id
        b"",                                               # 12 blank
        b"   \r",                                          # 13 blank (whitespace only)
        c("t1_c2", "t3_b", "t1_c1", body="prefixed id"),   # 14 good, id -> "c2"
        c("s1", "t3_a", body="BODY").replace(b"BODY", b"lone \\ud83d here"),  # 15 good, repaired
        c("c3", "t3_a", "t1_c2", body="last line, no newline"),             # 16 good
    ]
    path = rx.write_dump(dumps / "RC_bad.ndjson", lines, trailing_newline=False)
    report = extract(path, tmp_path / "corpus", max_line_bytes=2048)

    stats = report.result("RC_bad.ndjson").stats
    assert (stats["lines"], stats["good"], stats["blank"], stats["quarantined_total"]) == (16, 4, 2, 10)
    assert stats["quarantined"] == {
        "bad_field:id": 1, "bad_json": 1, "bad_utf8": 1, "line_too_long": 1,
        "missing_field:body": 1, "missing_field:id": 1, "missing_field:link_id": 1,
        "missing_field:parent_id": 1, "not_an_object": 1, "nul_byte": 1}
    assert stats["repaired_surrogates"] == 1
    assert report.exit_code == 0  # bad lines are data problems, not a failed input

    q = quarantined(tmp_path / "corpus", "RC_bad.ndjson")
    assert [(r["line"], r["reason"]) for r in q] == [
        (2, "bad_json"), (3, "bad_utf8"), (4, "nul_byte"), (5, "line_too_long"),
        (6, "not_an_object"), (7, "missing_field:id"), (8, "missing_field:link_id"),
        (9, "missing_field:parent_id"), (10, "missing_field:body"), (11, "bad_field:id")]
    raw = {r["line"]: (r["raw"].encode() if "raw" in r else base64.b64decode(r["raw_base64"]))
           for r in q}
    for number, line in raw.items():  # verbatim: the exact bytes of the input line
        assert line == lines[number - 1]
    assert "raw_base64" in q[1] and "raw" not in q[1]

    table = rx.read_table(tmp_path / "corpus")
    assert table.column("id").to_pylist() == ["c1", "c2", "s1", "c3"]
    assert table.column("line").to_pylist() == [1, 14, 15, 16]
    assert table.column("body").to_pylist()[2] == "lone \ufffd here"


def test_a_missing_field_in_a_clean_block_is_caught_on_the_fast_path(rx, dumps, tmp_path):
    lines = rx.many_comments(2000)
    lines[1234] = rx.comment("nobody", "t3_a", body=None)
    path = rx.write_dump(dumps / "RC_2005-12.zst", lines)
    stats = extract(path, tmp_path / "corpus").result("RC_2005-12.zst").stats
    assert (stats["fast_blocks"], stats["slow_blocks"]) == (1, 0)
    assert (stats["good"], stats["quarantined"]) == (1999, {"missing_field:body": 1})
    q = quarantined(tmp_path / "corpus", "RC_2005-12.zst")
    assert [(r["line"], r["reason"], r["raw"].encode()) for r in q] == [
        (1235, "missing_field:body", lines[1234])]


def test_one_bad_line_sends_only_its_block_to_the_slow_path_and_costs_nothing_else(rx, dumps, tmp_path):
    lines = rx.many_comments(3000)
    lines[10] = b"not json at all"
    path = rx.write_dump(dumps / "RC_2005-12.json", lines)
    report = extract(path, tmp_path / "corpus")
    stats = report.result("RC_2005-12.json").stats
    assert (stats["good"], stats["quarantined"], stats["slow_blocks"]) == (2999, {"bad_json": 1}, 1)
    ids = rx.read_table(tmp_path / "corpus").column("id").to_pylist()
    assert ids == [orjson.loads(l)["id"] for i, l in enumerate(lines) if i != 10]


def test_no_bad_lines_means_no_quarantine_file_and_a_stale_one_is_removed(rx, dumps, tmp_path):
    path = rx.write_dump(dumps / "RC_x.json", [rx.comment("c1", "t3_a"), b"oops"])
    out = tmp_path / "corpus"
    extract(path, out)
    assert (out / "quarantine" / "RC_x.json.jsonl").exists()
    rx.write_dump(path, [rx.comment("c1", "t3_a")])
    extract(path, out, force=True)
    assert not (out / "quarantine" / "RC_x.json.jsonl").exists()
