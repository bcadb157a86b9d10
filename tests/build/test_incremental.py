"""Incremental builds (rdial/build/incremental.py) and `rdial prune`: a month added to a built
corpus rebuilds only the threads it reaches, to the bytes and totals of a build from scratch."""

import calendar
import json

import polars as pl
import pytest

from rdial import schema
from rdial.build.stage import BuildConfig, run_build
from rdial.cli import main
from rdial.errors import RdialError
from rdial.pipeline.prune import PruneConfig, plan_prune, run_prune

MONTHS = [f"2012-{m:02d}" for m in range(1, 9)]


def run(corpus, **kw):
    """Build; rebuild_share 1 unless given: a bucket that only gained files takes the increment
    whatever share of it the new month reaches (these buckets hold a few threads each)."""
    kw.setdefault("preset", "raw")
    kw.setdefault("rebuild_share", 1.0)
    return run_build(BuildConfig(corpus=corpus.root, workers=1, **kw), progress=False)


def chain_bytes(corpus) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(corpus.chains_dir.glob("*.parquet"))}


def t0(month: str) -> int:
    return calendar.timegm((int(month[:4]), int(month[5:]), 2, 0, 0, 0))


def month_rows(reddit, month: str, threads: int = 6, late: dict | None = None):
    """`threads` new threads of month M (ids grow with time, like Reddit's base-36 ids): each a
    top-level comment and a reply; `late`: {old thread link: parent comment} to answer."""
    m = MONTHS.index(month) + 1 if month in MONTHS else int(month[5:])
    c, rows, at = reddit.comment, [], t0(month)
    for k in range(threads):
        link, top = f"t3_m{m:x}{k}", f"c{m:x}{k}0"
        rows += [c(top, link, f"hello {top}", link=link, created=at + k),
                 c(f"c{m:x}{k}1", f"t1_{top}", f"reply {top}", link=link, created=at + k + 1)]
    for n, (link, parent) in enumerate(sorted((late or {}).items())):
        rows.append(c(f"c{m:x}z{n}", f"t1_{parent}", f"late {n}", link=link, created=at + 100 + n))
    return {f"RC_{month}.zst": rows}


def corpus_of(reddit, months: dict, root):
    return reddit.corpus(months, buckets=4, root=root)


def both_ways(reddit, tmp_path, first: dict, later: dict):
    """(report of the incremental build, incremental corpus, fresh corpus built once)."""
    inc = corpus_of(reddit, first, tmp_path / "inc")
    run(inc)
    reddit.corpus(later, root=inc.root)
    report = run(inc)
    fresh = corpus_of(reddit, {**first, **later}, tmp_path / "fresh")
    run(fresh)
    return report, inc, fresh


def test_a_new_month_rebuilds_only_the_threads_it_reaches_to_the_same_bytes(reddit, tmp_path):
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=2, late={"t3_m13": "c131"})  # Jan's thread 3 answered
    report, inc, fresh = both_ways(reddit, tmp_path, jan, feb)
    touched = {schema.thread_bucket(link, 4) for link in ("t3_m20", "t3_m21", "t3_m13")}
    run_stats = json.loads((inc.root / "stats" / "build.json").read_text())["run"]
    assert (run_stats["built"], run_stats["built_from_chains"], run_stats["skipped"]) == \
        (len(touched), len(touched), 4 - len(touched))
    assert run_stats["threads_rebuilt"] == 3   # Feb's two threads and Jan's thread 3
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals
    assert ["c130", "c131", "c2z0"] in reddit.ids(inc)


def test_month_by_month_equals_all_at_once(reddit, tmp_path):
    months = {}
    inc = None
    for i, month in enumerate(MONTHS[:4]):
        late = {f"t3_m{i:x}1": f"c{i:x}11"} if i else None  # the month before's thread 1
        rows = month_rows(reddit, month, threads=3, late=late)
        months.update(rows)
        inc = corpus_of(reddit, rows, tmp_path / "inc")
        built = {p.name for p in inc.chains_dir.glob("*.parquet")} if i else set()
        report = run(inc)
        ways = {r.name: r.stats["rebuilt"] for r in report.done}
        assert ways == {k: "threads" if f"{k}.parquet" in built else "full" for k in ways}
        assert "threads" in ways.values() or not i
    fresh = corpus_of(reddit, months, tmp_path / "fresh")
    assert run(fresh).totals == run(inc).totals
    assert chain_bytes(inc) == chain_bytes(fresh)


def jan_thread_beside(link: str) -> int:
    """A thread of month_rows("2012-01", threads=8) in the same bucket (of 4) as `link`."""
    return next(k for k in range(8) if schema.thread_bucket(f"t3_m1{k}", 4) == schema.thread_bucket(link, 4))


def test_a_shared_id_pulls_the_other_thread_in(reddit, tmp_path):
    """A record of a Jan comment arriving again in Feb under another thread of its bucket
    (malformed): dedupe keeps one of the two across threads, so both threads are rebuilt."""
    c = reddit.comment
    k = jan_thread_beside("t3_m20")
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=1)
    feb["RC_2012-02.zst"].append(c(f"c1{k}1", "t3_m20", "moved", link="t3_m20",
                                   created=t0("2012-02") + 50, retrieved=1_500_000_000))
    report, inc, fresh = both_ways(reddit, tmp_path, jan, feb)
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals
    assert report.totals["duplicates"] == 1
    assert [r.stats["threads_rebuilt"] for r in report.done] == [2]


def test_a_reply_to_another_threads_comment_counts_the_same(reddit, tmp_path):
    c = reddit.comment
    k = jan_thread_beside("t3_m20")
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=1)
    feb["RC_2012-02.zst"].append(c("c2y", f"t1_c1{k}1", "wrong thread", link="t3_m20",
                                   created=t0("2012-02") + 60))
    report, inc, fresh = both_ways(reddit, tmp_path, jan, feb)
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals
    assert report.totals["links"]["parent_other_thread"] == 1
    assert [r.stats["threads_rebuilt"] for r in report.done] == [2]


def test_settings_or_changed_inputs_still_rebuild_in_full(reddit, tmp_path):
    inc = corpus_of(reddit, month_rows(reddit, "2012-01"), tmp_path / "inc")
    run(inc)
    reddit.corpus(month_rows(reddit, "2012-02"), root=inc.root)
    report = run(inc, min_turns=1)
    assert {r.stats["rebuilt"] for r in report.done} == {"full"}


# --- prune ---------------------------------------------------------------------------------------
def eight_months(reddit, root):
    months = {}
    for month in MONTHS:
        months.update(month_rows(reddit, month, threads=4))
    corpus = corpus_of(reddit, months, root)
    run(corpus)
    return corpus, months


def test_prune_removes_archived_months_and_the_build_stays_up_to_date(reddit, tmp_path, capsys):
    corpus, _ = eight_months(reddit, tmp_path / "c")
    # newest 2012-08 ends Sep 1; Jan (ends Feb 1) and Feb (Mar 1) + 180 days are before it,
    # Mar (Apr 1 + 180 days = Sep 28) is not
    gone = sorted(corpus.root.glob("comments/*/RC_2012-0[12].parquet"))
    size = sum(p.stat().st_size for p in gone)
    assert main(["prune", str(corpus.root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"prune: 2 months, {len(gone)} files, would free {size:,} bytes" in out
    assert "kept (threads still open, or a month missing after them): 2012-03, 2012-04" in out
    assert all(p.exists() for p in gone)
    chains = chain_bytes(corpus)
    assert main(["prune", str(corpus.root)]) == 0
    assert f"freed {size:,} bytes" in capsys.readouterr().out
    assert not any(p.exists() for p in gone)
    assert len(list(corpus.root.glob("comments/*/RC_2012-03.parquet"))) > 0
    again = run(corpus)
    assert (len(again.done), len(again.skipped)) == (0, 4)
    assert chain_bytes(corpus) == chains
    assert plan_prune(corpus).months == {}


def test_prune_refuses_while_the_build_is_stale(reddit, tmp_path):
    corpus, _ = eight_months(reddit, tmp_path / "c")
    reddit.corpus(month_rows(reddit, "2012-09"), root=corpus.root)
    with pytest.raises(RdialError, match=r"the build is not up to date: bucket 0000\d: "
                                         r"comments/bucket=0000\d/RC_2012-09.parquet is not built"):
        run_prune(PruneConfig(corpus=corpus.root))
    assert len(list(corpus.root.glob("comments/*/RC_2012-01.parquet"))) > 0


def test_after_prune_a_late_month_within_the_window_builds_as_from_scratch(reddit, tmp_path):
    corpus, months = eight_months(reddit, tmp_path / "c")
    run_prune(PruneConfig(corpus=corpus.root))
    sep = month_rows(reddit, "2012-09", threads=2, late={"t3_m62": "c621"})  # June's thread
    reddit.corpus(sep, root=corpus.root)
    report = run(corpus)
    assert report.exit_code == 0
    assert {r.stats["rebuilt"] for r in report.done} == {"threads"}
    fresh = corpus_of(reddit, {**months, **sep}, tmp_path / "fresh")
    assert run(fresh).totals == report.totals
    assert chain_bytes(corpus) == chain_bytes(fresh)


def test_after_prune_a_comment_beyond_the_window_fails_its_bucket_naming_the_month(reddit, tmp_path):
    corpus, _ = eight_months(reddit, tmp_path / "c")
    run_prune(PruneConfig(corpus=corpus.root))
    late_bucket = schema.thread_bucket("t3_m12", 4)
    before = corpus.chains_file(late_bucket).read_bytes()
    reddit.corpus(month_rows(reddit, "2012-09", threads=0, late={"t3_m12": "c121"}), root=corpus.root)
    report = run(corpus)
    assert report.exit_code == 1
    [failed] = report.failed
    assert failed.name == f"bucket={late_bucket:05d}"
    # (inline fixtures name their files RC_2012-01.parquet; extract's are RC_2012-01.zst.parquet)
    assert "RC_2012-09 reaches threads of RC_2012-01, which `rdial prune` removed" in failed.message
    assert "rdial extract RC_2012-01 --out CORPUS --force" in failed.message
    assert corpus.chains_file(late_bucket).read_bytes() == before


def test_after_prune_a_full_rebuild_names_the_months_to_extract_again(reddit, tmp_path):
    corpus, _ = eight_months(reddit, tmp_path / "c")
    pruned = {p.parent.name: sorted(q.stem for q in p.parent.glob("RC_2012-0[12].parquet"))
              for p in corpus.root.glob("comments/*/RC_2012-0[12].parquet")}
    run_prune(PruneConfig(corpus=corpus.root))
    report = run(corpus, force=True)
    assert {r.name: r.message.split(", which")[0] for r in report.failed} == \
        {b: "a full rebuild (changed inputs or settings, or --force) needs " + ", ".join(names)
         for b, names in pruned.items()}
    assert len(report.done) == 4 - len(pruned)


def test_prune_without_a_gapless_run_of_months_keeps_them(reddit, tmp_path):
    months = {}
    for month in ("2012-01", "2012-02", "2012-08"):  # March to July missing
        months.update(month_rows(reddit, month, threads=2))
    corpus = corpus_of(reddit, months, tmp_path / "c")
    run(corpus)
    plan = plan_prune(corpus)
    assert (plan.months, plan.kept) == ({}, ["2012-01", "2012-02", "2012-08"])


def test_a_record_fetched_again_replaces_the_old_one_and_its_reason_goes(reddit, tmp_path):
    """Jan's only unusable comment ([deleted]) arrives again in Feb's dump with its text: the
    full build counts no `deleted` reason at all, and neither may the increment."""
    c = reddit.comment
    jan = month_rows(reddit, "2012-01", threads=3)
    jan["RC_2012-01.zst"][1] = c("c101", "t1_c100", "[deleted]", link="t3_m10", created=t0("2012-01") + 1)
    feb = {"RC_2012-02.zst": [c("c101", "t1_c100", "back again", link="t3_m10",
                                created=t0("2012-01") + 1, retrieved=1_500_000_000)]}
    inc = corpus_of(reddit, jan, tmp_path / "inc")
    assert run(inc).totals["unusable"] == {"deleted": 1}
    reddit.corpus(feb, root=inc.root)
    report = run(inc)
    fresh = corpus_of(reddit, {**jan, **feb}, tmp_path / "fresh")
    assert report.totals == run(fresh).totals
    assert report.totals["unusable"] == {} and report.totals["duplicates"] == 1
    assert [r.stats["rebuilt"] for r in report.done] == ["threads"]
    assert chain_bytes(inc) == chain_bytes(fresh)


def test_when_every_kept_longest_thread_is_touched_the_bucket_builds_in_full(reddit, tmp_path,
                                                                             monkeypatch):
    from rdial.build import incremental
    monkeypatch.setattr(incremental, "TOP_LONGEST", 1)  # the ledger keeps one thread per bucket
    c = reddit.comment
    jan = month_rows(reddit, "2012-01", threads=8)
    k = jan_thread_beside("t3_m20")
    jan["RC_2012-01.zst"].append(c("c1x", f"t1_c1{k}1", "third turn", link=f"t3_m1{k}",
                                   created=t0("2012-01") + 40))  # its bucket's longest thread
    feb = {"RC_2012-02.zst": [c("c2x", "t1_c1x", "fourth", link=f"t3_m1{k}",
                                created=t0("2012-02"))]}
    report, inc, fresh = both_ways(reddit, tmp_path, jan, feb)
    assert [r.stats["rebuilt"] for r in report.done] == ["full"]
    assert report.totals["longest_chain"] == 4
    assert chain_bytes(inc) == chain_bytes(fresh)


# --- --per-month (DialoGPT): a later month appended -----------------------------------------------
def test_per_month_a_later_month_is_appended_to_the_same_bytes(reddit, tmp_path):
    s = reddit.submission
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=8, late={"t3_m12": "c121"})  # its own group
    subs = {"RS_2012-01.zst": [s(f"m1{k}", f"title {k}", over_18=k == 1) for k in range(8)]}
    later_subs = {"RS_2012-02.zst": [s(f"m2{k}", f"feb {k}") for k in range(8)] + [s("m20", "again")]}
    inc = reddit.corpus(jan, subs, buckets=4, root=tmp_path / "inc")
    run(inc, per_month=True, with_title=True)
    built = {p.stem for p in inc.chains_dir.glob("*.parquet")}
    reddit.corpus(feb, later_subs, root=inc.root)
    report = run(inc, per_month=True, with_title=True)
    fresh = reddit.corpus({**jan, **feb}, {**subs, **later_subs}, buckets=4, root=tmp_path / "fresh")
    assert report.totals == run(fresh, per_month=True, with_title=True).totals
    assert report.totals["submission_duplicates"] == 1
    ways = {r.name: r.stats["rebuilt"] for r in report.done}
    assert ways == {k: "threads" if k in built else "full" for k in ways}
    assert ways[f"bucket={schema.thread_bucket('t3_m20', 4):05d}"] == "threads"  # its duplicate too
    assert chain_bytes(inc) == chain_bytes(fresh)


def test_per_month_an_earlier_month_added_later_builds_in_full(reddit, tmp_path):
    feb = month_rows(reddit, "2012-02", threads=3)
    jan = month_rows(reddit, "2012-01", threads=3)
    inc = corpus_of(reddit, feb, tmp_path / "inc")
    run(inc, per_month=True)
    reddit.corpus(jan, root=inc.root)
    report = run(inc, per_month=True)
    fresh = corpus_of(reddit, {**jan, **feb}, tmp_path / "fresh")
    assert report.totals == run(fresh, per_month=True).totals
    assert {r.stats["rebuilt"] for r in report.done} == {"full"}
    assert chain_bytes(inc) == chain_bytes(fresh)


# --- the cost of each way, and the per-thread counts ---------------------------------------------
def test_rebuild_share_zero_builds_every_grown_bucket_whole_to_the_same_bytes(reddit, tmp_path):
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=2, late={"t3_m13": "c131"})
    inc = corpus_of(reddit, jan, tmp_path / "inc")
    run(inc)
    reddit.corpus(feb, root=inc.root)
    report = run(inc, rebuild_share=0.0)
    touched = {schema.thread_bucket(link, 4) for link in ("t3_m20", "t3_m21", "t3_m13")}
    run_stats = json.loads((inc.root / "stats" / "build.json").read_text())["run"]
    assert (run_stats["built"], run_stats["built_from_chains"], run_stats["built_whole"]) == \
        (len(touched), 0, {"added_share": len(touched)})
    fresh = corpus_of(reddit, {**jan, **feb}, tmp_path / "fresh")
    run(fresh)
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals


def big_thread_beside(reddit, link: str, replies: int = 10):
    """A Jan thread of `replies` + 1 comments in the bucket (of 4) of `link`."""
    c, at = reddit.comment, t0("2012-01")
    rows = [c("cb0", "t3_big", "big root", link="t3_big", created=at)]
    rows += [c(f"cb{k}", f"t1_cb{k - 1}", f"big reply {k}", link="t3_big", created=at + k)
             for k in range(1, replies + 1)]
    return rows


def test_a_late_reply_to_a_large_thread_builds_its_bucket_whole_when_cheaper(reddit, tmp_path):
    """Feb adds one comment (a small share of the bucket's rows) to Jan's big thread (a large
    share): the added rows say take the increment, the touched rows say build whole."""
    jan = month_rows(reddit, "2012-01", threads=8)
    jan["RC_2012-01.zst"] += big_thread_beside(reddit, "t3_big", replies=30)
    feb = {"RC_2012-02.zst": [reddit.comment("cbz", "t1_cb30", "late", link="t3_big",
                                             created=t0("2012-02"))]}
    bucket = schema.thread_bucket("t3_big", 4)
    rows = 31 + 2 * sum(schema.thread_bucket(f"t3_m1{k}", 4) == bucket for k in range(8))
    inc = corpus_of(reddit, jan, tmp_path / "inc")
    run(inc)
    reddit.corpus(feb, root=inc.root)
    # added 1 / (rows + 1) <= 0.1 < the share; touched 32 / (rows + 1) >= 2/3 > (1 + 0.1) / 2
    report = run(inc, rebuild_share=0.1)
    assert [(r.stats["rebuilt"], r.stats["full_because"]) for r in report.done] == \
        [("full", "touched_share")]
    entry = json.loads((inc.root / "_ledger" / "build" / f"bucket={bucket:05d}.json").read_text())
    assert entry["rebuilt"] == {"way": "full", "why": "touched_share", "shares": {
        "added": round(1 / (rows + 1), 4), "touched": round(32 / (rows + 1), 4)}}
    fresh = corpus_of(reddit, {**jan, **feb}, tmp_path / "fresh")
    run(fresh)
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals
    # the same month with the increment allowed: the same bytes, from the chains
    again = corpus_of(reddit, jan, tmp_path / "again")
    run(again)
    reddit.corpus(feb, root=again.root)
    assert [r.stats["rebuilt"] for r in run(again, rebuild_share=1.0).done] == ["threads"]
    assert chain_bytes(again) == chain_bytes(fresh)


def thread_counts(corpus) -> dict[str, list]:
    out = {}
    for path in sorted((corpus.root / "_ledger" / "build" / "threads").glob("*.parquet")):
        out[path.name.split(".")[0]] = pl.read_parquet(path).rows()
    return out


def test_the_increment_keeps_the_per_thread_counts_of_a_fresh_build(reddit, tmp_path):
    """The counts the next increment subtracts: after an increment, those of a fresh build;
    summed, the bucket's counters."""
    jan = month_rows(reddit, "2012-01", threads=8)
    c = reddit.comment
    k = jan_thread_beside("t3_m20")
    feb = month_rows(reddit, "2012-02", threads=2, late={"t3_m13": "c131"})
    feb["RC_2012-02.zst"] += [c(f"c1{k}1", "t3_m20", "moved", link="t3_m20",  # a shared id
                                created=t0("2012-02") + 50, retrieved=1_500_000_000),
                              c("cq", "t1_c130", "[deleted]", link="t3_m13", created=t0("2012-02") + 70)]
    report, inc, fresh = both_ways(reddit, tmp_path, jan, feb)
    assert {r.stats["rebuilt"] for r in report.done} == {"threads"}
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert thread_counts(inc) == thread_counts(fresh)
    assert len(thread_counts(inc)) == 4
    ledger = json.loads((inc.root / "_ledger" / "build" / "bucket=00000.json").read_text())
    summed = {}
    for link, stat, n in thread_counts(inc)["bucket=00000"]:
        summed[stat] = summed.get(stat, 0) + n
    flat = {f"{k}.{s}" if isinstance(v, dict) else k: n for k, v in ledger["stats"].items()
            for s, n in (v.items() if isinstance(v, dict) else [(None, v)]) if k != "longest_chain"}
    assert summed == {k: v for k, v in flat.items() if v}


def test_without_per_thread_counts_the_increment_builds_the_old_threads_again(reddit, tmp_path):
    """A bucket built before the counts were kept: T is built from its old files too (the same
    bytes and totals), and the bucket keeps no counts until it is built whole."""
    jan = month_rows(reddit, "2012-01", threads=8)
    feb = month_rows(reddit, "2012-02", threads=2, late={"t3_m13": "c131"})
    inc = corpus_of(reddit, jan, tmp_path / "inc")
    run(inc)
    for path in (inc.root / "_ledger" / "build" / "threads").glob("*.parquet"):
        path.unlink()
    reddit.corpus(feb, root=inc.root)
    report = run(inc)
    assert {r.stats["rebuilt"] for r in report.done} == {"threads"}
    fresh = corpus_of(reddit, {**jan, **feb}, tmp_path / "fresh")
    run(fresh)
    assert chain_bytes(inc) == chain_bytes(fresh)
    assert report.totals == run(fresh, force=True).totals
    assert thread_counts(inc) == {}
    for r in report.done:
        assert "threads" not in json.loads((inc.root / "_ledger" / "build" / f"{r.name}.json").read_text())
    run(inc, force=True)  # built whole: the counts again
    assert thread_counts(inc) == thread_counts(fresh)
