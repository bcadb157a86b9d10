"""Real Pushshift months and complete praw threads: every chain a valid reply path, every usable
leaf ends exactly one chain, nothing duplicated, and chains that span December and January,
checked against an independent brute-force reference (Python dicts, a walk per leaf)."""

from collections import Counter

import pytest

from rdial.build.stage import BuildConfig, run_build

pytestmark = pytest.mark.real

UNUSABLE = ("", "[deleted]", "[removed]")


def latest(rows: list[dict]) -> dict[str, dict]:
    """Dedupe by id: greatest retrieved_on, then later source, then later line."""
    best: dict[str, dict] = {}
    for r in rows:
        rank = (r["retrieved_on"] if r["retrieved_on"] is not None else -1, r["source"], r["line"])
        if r["id"] not in best or rank > best[r["id"]]["_rank"]:
            best[r["id"]] = dict(r, _rank=rank)
    return best


def reference_chains(rows: list[dict], min_turns: int = 2) -> set[tuple[str, ...]]:
    """DialoGPT's way: a dict of comments, find the leaves, walk parent_id up from each."""
    comments = latest(rows)
    usable = {i for i, c in comments.items() if (c["body"] or "").strip() not in UNUSABLE}

    def usable_parent(cid):
        c = comments[cid]
        pid = c["parent_id"][3:] if c["parent_id"].startswith("t1_") else None
        if pid is None or pid == cid or pid not in usable or comments[pid]["link_id"] != c["link_id"]:
            return None
        return pid

    has_reply = {usable_parent(i) for i in usable} - {None}
    chains = set()
    for leaf in usable - has_reply:
        path, cur = [leaf], usable_parent(leaf)
        while cur is not None and cur not in path:
            path.append(cur)
            cur = usable_parent(cur)
        if len(path) >= min_turns:
            chains.add(tuple(reversed(path)))
    return chains


def check_reply_paths(chains: list[dict], rows: list[dict]) -> None:
    comments = latest(rows)
    usable = {i for i, c in comments.items() if (c["body"] or "").strip() not in UNUSABLE}
    for chain in chains:
        ids = [i for i in chain["turn_ids"] if not i.startswith("t3_")]
        assert all(i in usable for i in ids)
        for parent, child in zip(ids, ids[1:]):
            assert comments[child]["parent_id"] == "t1_" + parent
            assert comments[child]["link_id"] == chain["link_id"]
        first_parent = comments[ids[0]]["parent_id"]
        # c1 replies to the submission, or to a comment that is missing, unusable or (real data
        # has these: RC_2005-12 c1020) in another thread
        assert (first_parent.startswith("t3_") or first_parent[3:] not in usable
                or comments[first_parent[3:]]["link_id"] != chain["link_id"])
        assert chain["turn_texts"][-1] == comments[ids[-1]]["body"]


def build(corpus, **kw):
    kw.setdefault("preset", "raw")  # chain semantics alone; presets: tests/build/test_presets.py
    report = run_build(BuildConfig(corpus=corpus.root, workers=1, **kw), progress=False)
    assert report.failed == []
    return report


def test_one_real_month_every_usable_leaf_ends_one_chain(real_data, real_corpus, reddit, comment_rows):
    path = real_data / "pushshift" / "RC_2005-12.zst"
    rows = comment_rows(path)
    corpus = real_corpus([path])
    report = build(corpus, min_turns=1)
    chains = reddit.chains(corpus)
    check_reply_paths(chains, rows)
    paths = [tuple(c["turn_ids"]) for c in chains]
    assert len(set(paths)) == len(paths)
    assert set(paths) == reference_chains(rows, min_turns=1)
    ends = Counter(p[-1] for p in paths)
    assert set(ends.values()) == {1}
    assert report.totals["comments"] == 1075 and report.totals["records"] == 1075


def test_two_real_months_join_across_the_month_boundary(real_data, real_corpus, reddit, comment_rows):
    paths = [real_data / "pushshift" / "RC_2005-12.zst", real_data / "pushshift" / "RC_2006-01.zst"]
    rows = comment_rows(paths[0]) + comment_rows(paths[1])
    december = {r["id"] for r in rows if r["source"] == "RC_2005-12.zst"}
    corpus = real_corpus(paths)
    build(corpus)
    chains = reddit.chains(corpus)
    check_reply_paths(chains, rows)
    got = [tuple(c["turn_ids"]) for c in chains]
    assert len(set(got)) == len(got)
    expected = reference_chains(rows)
    assert set(got) == expected
    spanning = [p for p in got if p[0] in december and p[-1] not in december]
    assert len(spanning) == len([p for p in expected if p[0] in december and p[-1] not in december])
    # found by this build and the reference alike (RC_2006-01 replies to December parents)
    assert (len(got), len(spanning)) == (829, 18)

    build(corpus, per_month=True)  # DialoGPT's month-by-month view loses exactly those
    per_month = [tuple(c["turn_ids"]) for c in reddit.chains(corpus)]
    assert not any(p[0] in december and p[-1] not in december for p in per_month)


def test_complete_praw_threads_with_titles(real_data, real_corpus, reddit, comment_rows):
    folder = real_data / "praw_thread"
    rc = sorted(folder.glob("RC_thread_*.ndjson"))
    rs = sorted(folder.glob("RS_thread_*.ndjson"))
    rows = [r for p in rc for r in comment_rows(p)]
    corpus = real_corpus(rc, rs)
    report = build(corpus, with_title=True)
    chains = reddit.chains(corpus)
    check_reply_paths(chains, rows)
    assert report.totals["links"]["parent_missing"] == 0  # every parent present
    comments = latest(rows)
    for chain in chains:
        first = comments[chain["turn_ids"][1 if chain["turn_ids"][0].startswith("t3_") else 0]]
        titled = chain["turn_ids"][0] == chain["link_id"]
        assert titled == (first["parent_id"] == chain["link_id"])
    got = {tuple(i for i in c["turn_ids"] if not i.startswith("t3_")) for c in chains}
    # the comment paths are the reference's, plus the lone top-level leaves a title made 2 long
    lone = {p for p in reference_chains(rows, min_turns=1)
            if len(p) == 1 and comments[p[0]]["parent_id"].startswith("t3_")}
    assert got == reference_chains(rows) | lone and len(lone) > 0
    assert report.totals["comments"] == 1428 + 541


def test_the_extract_stage_output_builds_the_same_chains(real_data, tmp_path, reddit, comment_rows):
    """The contract end to end: `rdial extract` writes the corpus, build reads it."""
    extract = pytest.importorskip("rdial.extract.stage")
    paths = [real_data / "pushshift" / "RC_2005-12.zst", real_data / "pushshift" / "RC_2006-01.zst"]
    extract.run_extract(extract.ExtractConfig(inputs=paths, out=tmp_path / "extracted", buckets=8,
                                              workers=1, progress=False))
    from rdial.corpus import Corpus
    corpus = Corpus.open(tmp_path / "extracted")
    build(corpus)
    got = {tuple(c["turn_ids"]) for c in reddit.chains(corpus)}
    assert got == reference_chains(comment_rows(paths[0]) + comment_rows(paths[1]))
    assert len(got) == 829
