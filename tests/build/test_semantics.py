"""Chain semantics end to end (corpus files -> run_build -> chains files), exact chains."""

import json

from rdial.build.stage import BuildConfig, run_build


def build(corpus, **kw):
    kw.setdefault("preset", "raw")  # chain semantics alone; presets: tests/build/test_presets.py
    report = run_build(BuildConfig(corpus=corpus.root, workers=1, **kw), progress=False)
    assert report.failed == []
    return report


def test_deleted_comment_in_the_middle_and_a_missing_parent(reddit):
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [
        c("a", "t3_s", "A"), c("b", "t1_a", "B"), c("c", "t1_b", "[deleted]"),
        c("d", "t1_c", "D"), c("e", "t1_d", "E"), c("f", "t1_a", " F "),
        c("g", "t1_gone", "G"), c("h", "t1_g", "H"),
        c("i", "t1_h", "  [removed] "), c("j", "t1_i", ""),
    ]})
    report = build(corpus)
    rows = reddit.chains(corpus)
    # b is a leaf: its only reply is deleted; d starts a chain below the deleted c
    assert [r["turn_ids"] for r in rows] == [["a", "b"], ["d", "e"], ["a", "f"], ["g", "h"]]
    assert rows[2]["turn_texts"] == ["A", " F "]  # texts as written
    assert rows[0]["turn_authors"] == ["u_a", "u_b"]
    assert {r["link_id"] for r in rows} == {"t3_s"} and rows[0]["subreddit"] == "test"
    assert rows[0]["over_18"] is None  # no RS data
    t = report.totals
    assert t["unusable"] == {"deleted": 1, "removed": 1, "empty_body": 1}
    assert t["links"]["parent_missing"] == 1 and t["links"]["to_submission"] == 1
    assert (t["comments"], t["usable"], t["chains"], t["turns"]) == (10, 7, 4, 8)


def test_duplicate_records_latest_retrieved_wins(reddit):
    c = reddit.comment
    corpus = reddit.corpus({
        "RC_2005-12.zst": [c("a", "t3_s", "A", created=1),
                           c("b", "t1_a", "B old", created=2, retrieved=100),
                           c("x", "t1_a", "X kept", created=3, retrieved=50),
                           c("y", "t1_a", "Y first", created=4, retrieved=7)],
        # a later fetch: b edited; x re-fetched after deletion; y: same retrieved_on, later file
        "RC_2006-01.zst": [c("b", "t1_a", "B new", created=2, retrieved=200),
                           c("x", "t1_a", "[deleted]", created=3, retrieved=40),
                           c("y", "t1_a", "Y later file", created=4, retrieved=7)],
    })
    report = build(corpus)
    texts = [r["turn_texts"] for r in reddit.chains(corpus)]
    assert texts == [["A", "B new"], ["A", "X kept"], ["A", "Y later file"]]
    assert report.totals["duplicates"] == 3 and report.totals["comments"] == 4


def test_parent_cycle_self_reply_and_parent_in_another_thread(reddit):
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [
        # x -> y -> x: a cycle, cut at its oldest comment x; z replies to y
        c("x", "t1_y", "X"), c("y", "t1_x", "Y"), c("z", "t1_y", "Z"),
        # s1 replies to itself; s2 replies to s1
        c("s1", "t1_s1", "S1"), c("s2", "t1_s1", "S2"),
        # o1 lives in thread t3_o but its parent a1 is in thread t3_s
        c("a1", "t3_s", "A1"), c("o1", "t1_a1", "O1", link="t3_o"), c("o2", "t1_o1", "O2", link="t3_o"),
        # p1 names another thread's submission as its parent
        c("p1", "t3_elsewhere", "P1"), c("p2", "t1_p1", "P2"),
        # a parent_id that is neither t1_ nor t3_; a record without an id
        c("v", "garbage", "V"), c(None, "t1_v", "no id"),
    ]}, buckets=1)
    report = build(corpus)
    ids = reddit.ids(corpus)
    assert ids == [["o1", "o2"], ["x", "y", "z"], ["s1", "s2"], ["p1", "p2"]]
    t = report.totals
    assert (t["cycles_cut"], t["comments_on_cycles"]) == (1, 2)
    assert t["links"] == {"to_submission": 1, "to_comment": 6, "parent_missing": 0,
                          "parent_other_thread": 2, "self_reply": 1, "parent_id_invalid": 1}
    assert t["too_short"] == 2  # a1 (its only reply is in another thread) and v
    assert (t["records"], t["records_without_id"], t["comments"]) == (12, 1, 11)


def test_threads_join_across_months_unless_per_month(reddit):
    c = reddit.comment
    sources = {"RC_2005-12.zst": [c("a", "t3_s", "A"), c("b", "t1_a", "B")],
               "RC_2006-01.zst": [c("c", "t1_b", "C"), c("d", "t1_c", "D"), c("e", "t1_a", "E")]}
    corpus = reddit.corpus(sources)
    build(corpus)
    assert reddit.ids(corpus) == [["a", "b", "c", "d"], ["a", "e"]]

    build(corpus, per_month=True)
    # December: a -> b alone; January: c's and e's parents are in December, so "missing"
    assert reddit.ids(corpus) == [["a", "b"], ["c", "d"]]


def test_reply_to_a_submission_from_the_previous_month_gets_its_title(reddit):
    c, s = reddit.comment, reddit.submission
    corpus = reddit.corpus({"RC_2006-01.zst": [c("a", "t3_s", "A"), c("b", "t1_a", "B")]},
                           submissions={"RS_2005-12.zst": [s("s", "December title", over_18=True)]})
    build(corpus, with_title=True)
    [row] = reddit.chains(corpus)
    assert row["turn_ids"] == ["t3_s", "a", "b"]
    assert row["turn_texts"] == ["December title", "A", "B"]
    assert row["turn_authors"] == ["op", "u_a", "u_b"]
    assert row["turn_scores"][0] == 7 and row["turn_created"][0] == 1_133_999_000
    assert row["over_18"] is True

    build(corpus, with_title=True, per_month=True)  # titles attach in per-month mode too
    assert reddit.ids(corpus) == [["t3_s", "a", "b"]]


def test_with_title_only_where_the_chain_starts_at_the_submission(reddit):
    c, s = reddit.comment, reddit.submission
    corpus = reddit.corpus({"RC_2005-12.zst": [
        c("a", "t3_s", "A"), c("b", "t1_a", "[deleted]"), c("d", "t1_b", "D"), c("e", "t1_d", "E"),
        c("lone", "t3_s", "Lone"),                     # title + one comment = 2 turns
        c("n1", "t3_n", "N1", link="t3_n"), c("n2", "t1_n1", "N2", link="t3_n"),  # no RS for n
    ]}, submissions={"RS_2005-12.zst": [s("s", "Title S", over_18=False)]}, buckets=1)
    report = build(corpus, with_title=True)
    assert reddit.ids(corpus) == [["n1", "n2"], ["t3_s", "a"], ["d", "e"], ["t3_s", "lone"]]
    rows = reddit.chains(corpus)
    assert [r["over_18"] for r in rows] == [None, False, False, False]
    assert report.totals["chains_with_title"] == 2


def test_targets_all(reddit):
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [
        c("a", "t3_s", "A"), c("b", "t1_a", "B"), c("c", "t1_b", "C"), c("d", "t1_a", "D")]})
    build(corpus, targets="all")
    assert reddit.ids(corpus) == [["a", "b"], ["a", "b", "c"], ["a", "d"]]
    build(corpus, targets="all", min_turns=1)
    assert reddit.ids(corpus) == [["a"], ["a", "b"], ["a", "b", "c"], ["a", "d"]]


def test_max_turns_keeps_the_last_turns(reddit):
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [
        c("a", "t3_s"), c("b", "t1_a"), c("c", "t1_b"), c("d", "t1_c"), c("e", "t1_d"),
        c("f", "t1_a")]})
    build(corpus, max_turns=3)
    assert reddit.ids(corpus) == [["c", "d", "e"], ["a", "f"]]
    build(corpus, max_turns=3, min_turns=3)  # min-turns counts the whole path: a-f is too short
    assert reddit.ids(corpus) == [["c", "d", "e"]]
    config = json.loads((corpus.root / "config" / "build.json").read_text())
    assert (config["max_turns"], config["min_turns"], config["targets"]) == (3, 3, "leaves")
