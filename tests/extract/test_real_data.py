"""Real Pushshift samples (../shared/data/real, skipped when absent): whole months, many eras,
the Reddit API schema, a BigQuery JSON array."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from rdial.extract.stage import ExtractConfig, run_extract

pytestmark = pytest.mark.real


_RUNS: dict = {}


@pytest.fixture
def corpus(real_data, tmp_path_factory):
    """One extract run over every real sample, shared by the tests of this module."""
    if real_data not in _RUNS:
        out = tmp_path_factory.mktemp("real") / "corpus"
        inputs = [real_data / "pushshift", real_data / "pushshift_eras", real_data / "praw_thread",
                  real_data / "polyai_bigquery_thread", real_data / "pushshift_subreddit"]
        cfg = ExtractConfig(inputs=inputs, out=out, buckets=8, workers=1, progress=False)
        _RUNS[real_data] = (run_extract(cfg), out)
    return _RUNS[real_data]


def rows(rx, out, table, source):
    t = rx.read_table(out, table)
    return t.filter(pc.equal(t["source"], source))


def test_every_real_input_is_kept_whole(corpus):
    report, _ = corpus
    assert report.exit_code == 0
    got = {r.name: (r.stats["kind"], r.stats["lines"], r.stats["good"], r.stats["quarantined_total"])
           for r in report.results}
    assert got == {
        "RC_2005-12.zst": ("comments", 1075, 1075, 0),
        "RC_2006-01.zst": ("comments", 3666, 3666, 0),
        "test_comments.json": ("comments", 27, 27, 0),
        "test_submissions.json": ("submissions", 31, 31, 0),
        "RC_thread_n49rw.ndjson": ("comments", 1428, 1428, 0),
        "RS_thread_n49rw.ndjson": ("submissions", 1, 1, 0),
        "RC_thread_3hahrw.ndjson": ("comments", 541, 541, 0),
        "RS_thread_3hahrw.ndjson": ("submissions", 1, 1, 0),
        "thread.json": ("comments", 13, 13, 0),
        "AskMen_submissions_2019-10.zst": ("submissions", 13050, 13050, 0),
    }


def test_the_first_month_row_by_row(rx, corpus):
    _, out = corpus
    month = rows(rx, out, "comments", "RC_2005-12.zst")
    assert month.num_rows == 1075
    assert month.column("line").to_pylist() == list(range(1, 1076))
    assert month.slice(0, 1).to_pylist()[0] == {
        "id": "c13", "link_id": "t3_17863", "parent_id": "t3_17863", "author": "frjo",
        "body": "A look at Vietnam and Mexico exposes the myth of market liberalisation.",
        "subreddit": "reddit.com", "created_utc": 1134365188, "score": 2, "distinguished": None,
        "stickied": False, "retrieved_on": 1473738411, "source": "RC_2005-12.zst", "line": 1}
    assert len(set(month.column("id").to_pylist())) == 1075
    assert (out / "comments/bucket=00000/RC_2005-12.zst.parquet").exists()  # t3_17863 -> 0 of 8


def test_eras_int_string_and_float_times_and_the_last_line_without_newline(rx, corpus):
    _, out = corpus
    eras = rows(rx, out, "comments", "test_comments.json")
    by_id = {r["id"]: r for r in eras.to_pylist()}
    assert by_id["kod0bkd"]["created_utc"] == 1706745600          # 2024: float
    assert by_id["c0cmuol"]["created_utc"] == 1251763200          # 2009: string
    assert by_id["c13"]["created_utc"] == 1134365188              # 2005: int
    assert by_id["c63fp23"]["distinguished"] == "special"         # the last line, no newline
    assert by_id["c63fp23"]["line"] == 27
    subs = {r["id"]: r for r in rows(rx, out, "submissions", "test_submissions.json").to_pylist()}
    assert len(subs) == 31
    assert (subs["87"]["title"], subs["87"]["created_utc"], subs["87"]["retrieved_on"]) == (
        "The Downing Street Memo", 1119552233, None)
    assert subs["2f4i96"]["created_utc"] == 1409529600
    assert subs["1afwvva"]["over_18"] is True


def test_api_schema_thread_and_bigquery_array(rx, corpus):
    _, out = corpus
    thread = rows(rx, out, "comments", "RC_thread_n49rw.ndjson")
    first = thread.slice(0, 1).to_pylist()[0]
    assert (first["id"], first["created_utc"], first["score"]) == ("c364mzp", 1323313370, 2)
    assert set(thread.column("link_id").to_pylist()) == {"t3_n49rw"}
    bq = rows(rx, out, "comments", "thread.json").to_pylist()
    assert (bq[0]["id"], bq[0]["score"], bq[0]["created_utc"], bq[0]["retrieved_on"]) == (
        "dveh7r5", 1, 1520550110, 1524963292)
    assert [r["line"] for r in bq] == list(range(1, 14))
