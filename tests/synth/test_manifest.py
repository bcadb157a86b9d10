"""The manifest says exactly what is in the files: every count re-derived by reading them back."""

import json
import re
from collections import Counter

from rdial.synth import Manifest
from rdial.synth.text import BOT_AUTHORS

RC1, RC2, RS1, RS2 = "RC_2005-12.zst", "RC_2006-01.zst", "RS_2005-12.zst", "RS_2006-01.zst"


def test_line_counts_match_files_and_manifest_json(two_months):
    out, m, recs = two_months
    assert {n: len(r) for n, r in recs.items()} == {n: e["lines"] for n, e in m.files.items()}
    assert len(recs[RC1]) == len(recs[RC2]) == 4000
    assert len(recs[RS1]) > 300
    saved = Manifest.load(out / "manifest.json")
    assert saved.files == m.files
    assert saved.counts("2006-01") == m.counts("2006-01")
    assert saved.ids("deleted") == m.ids("deleted")


def test_counts_are_the_lengths_of_the_id_lists(two_months):
    _, m, _ = two_months
    for month in ("2005-12", "2006-01"):
        assert m.counts(month) == {k: len(v) for k, v in m.months[month]["ids"].items()}


def _first_copies(records):
    seen, out = set(), []
    for r in records:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out


def test_deleted_removed_bots_authors_match_bodies(two_months):
    _, m, recs = two_months
    for month, rc in (("2005-12", RC1), ("2006-01", RC2)):
        rows = _first_copies(recs[rc])
        assert {r["id"] for r in rows if r["body"] == "[deleted]"} == m.ids("deleted", month)
        assert {r["id"] for r in rows if r["body"] == "[removed]"} == m.ids("removed", month)
        assert {r["id"] for r in rows if r["author"] == "[deleted]"
                and r["body"] not in ("[deleted]", "[removed]")} == m.ids("deleted_authors", month)
        assert {r["id"] for r in rows if r["author"] in BOT_AUTHORS} == m.ids("bots", month)
        c = m.counts(month)
        # 4000 lines at rates 4% / 2% / 1%: counts near the rate, and exactly what is planted
        assert 100 < c["deleted"] < 230 and 40 < c["removed"] < 130 and 15 < c["bots"] < 75


def test_duplicates_repeat_a_record_later_with_new_score_and_retrieval(two_months):
    _, m, recs = two_months
    for month, rc in (("2005-12", RC1), ("2006-01", RC2)):
        counts = Counter(r["id"] for r in recs[rc])
        assert {i for i, c in counts.items() if c == 2} == m.ids("duplicates", month)
        assert max(counts.values()) == 2
        assert m.counts(month)["duplicates"] == 40          # 1% of 4000 lines
        first = {}
        for r in recs[rc]:
            if r["id"] in first:
                a = first[r["id"]]
                assert r["retrieved_on"] > a["retrieved_on"] and r["score"] != a["score"]
                assert {k: v for k, v in r.items() if k not in ("score", "ups", "retrieved_on")} \
                    == {k: v for k, v in a.items() if k not in ("score", "ups", "retrieved_on")}
            else:
                first[r["id"]] = r


def test_missing_parents_are_exactly_the_dangling_t1_parents(two_months):
    _, m, recs = two_months
    written = {r["id"] for rc in (RC1, RC2) for r in recs[rc]}
    for month, rc in (("2005-12", RC1), ("2006-01", RC2)):
        dangling = {r["id"] for r in recs[rc]
                    if r["parent_id"].startswith("t1_") and r["parent_id"][3:] not in written}
        assert dangling == m.ids("missing_parents", month)
        assert len(dangling) >= 20                        # 0.5% of 4000 dropped, most had replies
        assert not (m.ids("dropped", month) & written)
        assert m.counts(month)["dropped"] == 20


def test_cross_month_replies_point_into_the_earlier_month(two_months):
    _, m, recs = two_months
    dec_comments = {r["id"] for r in recs[RC1]}
    dec_threads = {"t3_" + r["id"] for r in recs[RS1]} | m.ids("missing_submissions", "2005-12")
    replies = {r["id"] for r in recs[RC2]
               if r["parent_id"][3:] in dec_comments or r["parent_id"] in dec_threads}
    assert replies == m.ids("cross_month_replies", "2006-01")
    assert len(replies) > 40
    in_old_threads = {r["id"] for r in _first_copies(recs[RC2]) if r["link_id"] in dec_threads}
    assert in_old_threads == m.ids("cross_month_comments", "2006-01")
    assert m.counts("2006-01")["cross_month_comments"] > m.counts("2006-01")["cross_month_replies"]
    assert m.counts("2005-12")["cross_month_replies"] == 0


def test_submissions_nsfw_missing_deleted(two_months):
    _, m, recs = two_months
    rs = recs[RS1] + recs[RS2]
    threads = {"t3_" + r["id"] for r in rs}
    assert {"t3_" + r["id"] for r in rs if r["over_18"]} == \
        m.ids("nsfw_threads") - m.ids("missing_submissions")
    linked = {r["link_id"] for rc in (RC1, RC2) for r in recs[rc]}
    assert linked - threads == m.ids("missing_submissions")
    assert m.ids("missing_submissions")
    assert {"t3_" + r["id"] for r in rs if r["selftext"] == "[deleted]"} == m.ids("deleted_submissions")
    assert {"t3_" + r["id"] for r in rs if r["selftext"] == "[removed]"} == m.ids("removed_submissions")
    assert len(m.ids("nsfw_threads")) > 10


FEATURE_CHECKS = {
    "url": lambda b: "http://" in b,
    "quote": lambda b: b.startswith("&gt; "),
    "shouting": lambda b: re.search(r"[A-Z]{5,}", b) is not None or b.split()[0].isupper(),
    "long_word": lambda b: max(len(w) for w in b.split()) > 30,
    "unicode": lambda b: not b.isascii(),
    "newlines": lambda b: "\n\n" in b,
    "repetition": lambda b: re.search(r"\b(\S+) \1 \1$", b) is not None,
    "markup": lambda b: re.match(r"\[[^\]]+\]\(/r/", b) is not None,
    "bland": lambda b: len(b.split()) <= 6,
}


def test_planted_features_are_in_the_bodies(two_months):
    _, m, recs = two_months
    rows = {r["id"]: r for r in recs[RC1]}
    for feature, check in FEATURE_CHECKS.items():
        ids = m.ids(feature, "2005-12")
        assert len(ids) >= 5, feature
        bad = [rows[i]["body"] for i in ids if not check(rows[i]["body"])]
        assert bad == [], feature


def test_escaped_newlines_and_unicode_survive_the_json_round_trip(two_months):
    out, m, _ = two_months
    import zstandard
    raw = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(
        open(out / RC1, "rb")).read()
    assert b"\\n\\n" in raw                      # newlines escaped inside the JSON strings
    assert b'\\"no\\"' in raw                     # double quotes escaped too
    assert raw.isascii()                          # 2005 era: non-ASCII written as \\uXXXX
    assert b"\\u" in raw
    assert all(json.loads(line)["id"] for line in raw.split(b"\n")[:-1])
