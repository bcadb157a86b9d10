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


# --- issue 14: decode defects --------------------------------------------------------------------
def test_a_deeply_nested_line_is_quarantined_and_loses_nothing_else(rx, dumps, tmp_path):
    lines = rx.many_comments(99)
    deep = b"[" * 1500 + b"]" * 1500  # in a field rdial ignores: stdlib json used to recurse
    lines.insert(40, rx.comment("deep", "t3_a")[:-1] + b',"junk":' + deep + b"}")
    lines.insert(70, b'{"id": "broken", ')
    path = rx.write_dump(dumps / "RC_2005-12.zst", lines)
    for _ in range(2):  # the same on a rerun
        report = extract(path, tmp_path / "corpus", force=True)
        stats = report.result("RC_2005-12.zst").stats
        assert report.exit_code == 0
        assert (stats["good"], stats["quarantined"]) == (99, {"bad_json": 1, "too_deep": 1})
        assert stats["reference_lines"] == 2  # the two bad lines alone left the block path
    q = quarantined(tmp_path / "corpus", "RC_2005-12.zst")
    assert [(r["line"], r["reason"]) for r in q] == [(41, "too_deep"), (71, "bad_json")]
    assert q[0]["raw"].encode() == lines[40]


def test_a_glued_line_beside_a_blank_line_shifts_no_line_number(rx, dumps, tmp_path):
    lines = rx.many_comments(1999)
    lines[5] = b""
    glued = lines[1500] + lines[1501]  # a lost newline: two objects on one line
    lines[1500:1502] = [glued]
    lines.append(rx.comment("last", "t3_z"))
    path = rx.write_dump(dumps / "RC_2005-12.ndjson", lines)
    stats = extract(path, tmp_path / "corpus").result("RC_2005-12.ndjson").stats
    assert (stats["lines"], stats["good"], stats["blank"], stats["quarantined"]) == (
        1999, 1997, 1, {"glued_records": 1})
    q = quarantined(tmp_path / "corpus", "RC_2005-12.ndjson")
    assert [(r["line"], r["reason"], r["raw"].encode()) for r in q] == [(1501, "glued_records", glued)]
    table = rx.read_table(tmp_path / "corpus")
    expected = {n: orjson.loads(l)["id"] for n, l in enumerate(lines, 1) if l and n != 1501}
    assert dict(zip(table.column("line").to_pylist(), table.column("id").to_pylist())) == expected


def test_one_verdict_for_null_nan_extreme_scores_and_a_bom(rx, dumps, tmp_path):
    lines = [
        b"\xef\xbb\xbf" + rx.comment("c1", "t3_a"),          # 1 BOM before the first record: kept
        b"null",                                              # 2 not_an_object
        rx.comment("c2", "t3_a", score=-2**63),               # 3 kept, score -2^63
        rx.comment("c3", "t3_a", score=2**63),                # 4 kept, score nulled (out of int64)
        b"NaN",                                               # 5 bad_json (NaN is not JSON)
        rx.comment("c4", "t3_a")[:-1] + b',"x":NaN}',         # 6 bad_json
        b"\xef\xbb\xbf" + rx.comment("c5", "t3_a"),           # 7 bad_json: a BOM inside the file
    ]
    path = rx.write_dump(dumps / "RC_odd.ndjson", lines)
    stats = extract(path, tmp_path / "corpus").result("RC_odd.ndjson").stats
    assert (stats["good"], stats["nulled"], stats["repaired_surrogates"]) == (3, {"score": 1}, 0)
    q = quarantined(tmp_path / "corpus", "RC_odd.ndjson")
    assert [(r["line"], r["reason"]) for r in q] == [
        (2, "not_an_object"), (5, "bad_json"), (6, "bad_json"), (7, "bad_json")]
    table = rx.read_table(tmp_path / "corpus")
    assert table.select(["line", "id", "score"]).to_pylist() == [
        {"line": 1, "id": "c1", "score": 2}, {"line": 3, "id": "c2", "score": -2**63},
        {"line": 4, "id": "c3", "score": None}]


def test_drifted_types_line_by_line_stay_on_the_block_path(rx, dumps, tmp_path):
    lines = [rx.comment(f"c{i}", "t3_a", created_utc=[1134365188, "1134365189", 1134365190.0][i % 3],
                        edited=[False, 1134369999, True][i % 3], stickied=[False, 1, "true"][i % 3])
             for i in range(300)]
    path = rx.write_dump(dumps / "RC_2015-02.zst", lines)
    stats = extract(path, tmp_path / "corpus").result("RC_2015-02.zst").stats
    assert (stats["good"], stats["reference_lines"], stats["slow_blocks"]) == (300, 0, 0)
    table = rx.read_table(tmp_path / "corpus")
    assert table.column("created_utc").to_pylist()[:4] == [1134365188, 1134365189, 1134365190, 1134365188]
    assert table.column("stickied").to_pylist()[:3] == [False, True, True]
