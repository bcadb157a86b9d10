"""`rdial status CORPUS`: months, rows per stage, quarantined lines, failed inputs, what is
stale and the last runs, as text and as JSON."""

from __future__ import annotations

import json
import os

import orjson

from rdial.cli import main


def comment(cid: str, parent: str | None = None, link: str = "t3_a") -> bytes:
    return orjson.dumps({"id": cid, "link_id": link, "parent_id": parent or link,
                         "body": f"a reply called {cid} here", "author": f"u{cid}",
                         "subreddit": "reddit.com", "created_utc": 1134365188, "score": 2,
                         "retrieved_on": 1473738411})


def test_status_reports_rows_failures_and_what_is_stale(tmp_path, capsys):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    rc = dumps / "RC_2005-12.ndjson"
    rc.write_bytes(b"\n".join([comment("a"), comment("b", "t1_a"), comment("c", "t1_b"),
                               b'{"broken": ']))
    (dumps / "RC_2006-01.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)  # damaged
    out = tmp_path / "c"
    assert main(["extract", str(dumps), "--out", str(out), "--buckets", "2", "--workers", "1",
                 "--no-progress"]) == 1
    assert main(["build", str(out), "--workers", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["status", str(out), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["months"] == {"2005-12": {"comments": 3}}
    assert status["rows"] == {"comments": 3, "submissions": 0, "chains": 1, "shards": {},
                              "shards_total": 0}
    assert status["quarantined"] == 1
    assert [f["input"] for f in status["failed_inputs"]] == ["RC_2006-01.zst"]
    assert status["stale"] == ["filter: no shards yet"]
    assert {s: r["exit_status"] for s, r in status["last_runs"].items()} == {"extract": 1, "build": 0}

    assert main(["filter", str(out), "--workers", "1", "--no-progress"]) == 0
    later = rc.stat().st_mtime + 5
    os.utime(rc, (later, later))  # the input changed after it was extracted
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "months: 2005-12 (3 comments)" in text
    assert "quarantined lines: 1" in text and "failed inputs: 1\n  RC_2006-01.zst: " in text
    assert "stale: 1\n  extract: RC_2005-12.ndjson: the input changed after it was extracted" in text
    assert "  filter   " in text and "exit 0" in text


def test_status_of_a_folder_that_is_no_corpus_is_one_line(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"rdial: error: {tmp_path} is not an rdial corpus")
