"""The stage around the builder: ledger reruns, byte-identical output, stale buckets, failures."""

import json
import os
import shutil

import pytest

from rdial.build.stage import BuildConfig, run_build
from rdial.cli import main
from rdial.errors import ConfigError


def three_threads(reddit, bodies=("A", "B")):
    c = reddit.comment
    return {"RC_2005-12.zst": [
        c("a", "t3_s1", bodies[0], link="t3_s1", created=1), c("b", "t1_a", bodies[1], link="t3_s1", created=2),
        c("p", "t3_s2", "P", link="t3_s2", created=3), c("q", "t1_p", "Q", link="t3_s2", created=4),
        c("m", "t3_s3", "M", link="t3_s3", created=5), c("n", "t1_m", "N", link="t3_s3", created=6),
    ]}


def chain_bytes(corpus) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(corpus.chains_dir.glob("*.parquet"))}


def run(corpus, **kw):
    kw.setdefault("preset", "raw")  # the stage alone; presets: tests/build/test_presets.py
    return run_build(BuildConfig(corpus=corpus.root, workers=1, **kw), progress=False)


def test_rerun_skips_everything_and_writes_nothing(reddit):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    first = run(corpus)
    buckets = len(corpus.nonempty_buckets("comments"))
    assert (len(first.results), len(first.done), len(first.skipped)) == (buckets, buckets, 0)
    before = {p: p.stat().st_mtime_ns for p in corpus.chains_dir.iterdir()}
    again = run(corpus)
    assert (len(again.done), len(again.skipped)) == (0, buckets)
    assert {p: p.stat().st_mtime_ns for p in corpus.chains_dir.iterdir()} == before
    assert again.totals == first.totals  # the stats cover skipped buckets too


def test_changed_input_rebuilds_only_its_bucket_and_matches_a_fresh_build(reddit, tmp_path):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    run(corpus)
    # January arrives for thread s1 only: one bucket's inputs change
    c = reddit.comment
    reddit.corpus({"RC_2006-01.zst": [c("r", "t1_b", "R", link="t3_s1", created=9)]})
    report = run(corpus)
    assert len(report.done) == 1
    fresh = reddit.corpus({**three_threads(reddit),
                           "RC_2006-01.zst": [c("r", "t1_b", "R", link="t3_s1", created=9)]},
                          buckets=8, root=tmp_path / "fresh")
    run(fresh)
    assert chain_bytes(corpus) == chain_bytes(fresh)
    assert ["a", "b", "r"] in reddit.ids(corpus)


def test_changed_settings_rebuild_every_bucket(reddit):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    first = run(corpus)
    report = run(corpus, min_turns=1, targets="all")
    assert len(report.done) == len(first.done) and report.totals["chains"] == 6
    assert len(run(corpus, force=True).done) == len(first.done)


def test_a_killed_run_rerun_ends_identical(reddit, tmp_path):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    run(corpus)
    expected = chain_bytes(corpus)
    # simulate a kill after one bucket published its chains but before its ledger entry,
    # leaving a temporary file behind in another
    ledger_files = sorted((corpus.root / "_ledger" / "build").glob("*.json"))
    ledger_files[0].unlink()
    (corpus.chains_dir / ".tmp-deadbeef-bucket=00001.parquet").write_bytes(b"partial")
    report = run(corpus)
    assert len(report.done) == 1
    assert chain_bytes(corpus) == expected
    assert not list(corpus.chains_dir.glob(".tmp-*"))


def test_bucket_without_comments_loses_its_stale_chains(reddit):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    run(corpus)
    victim = corpus.nonempty_buckets("comments")[0]
    shutil.rmtree(corpus.bucket_dir("comments", victim))
    report = run(corpus)
    assert report.removed == 1 and not corpus.chains_file(victim).exists()
    assert not (corpus.root / "_ledger" / "build" / f"bucket={victim:05d}.json").exists()


def test_empty_bucket_gets_an_empty_chains_file(reddit):
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [c("a", "t3_s", "[deleted]")]}, buckets=2)
    report = run(corpus)
    assert report.totals["chains"] == 0 and report.totals["unusable"] == {"deleted": 1}
    [path] = corpus.chains_dir.glob("*.parquet")
    assert reddit.chains(corpus) == []


def test_one_broken_file_fails_its_bucket_only(reddit):
    corpus = reddit.corpus(three_threads(reddit), buckets=8)
    broken_bucket = corpus.nonempty_buckets("comments")[0]
    (corpus.bucket_dir("comments", broken_bucket) / "RC_2006-01.parquet").write_bytes(b"not parquet")
    report = run(corpus)
    assert [r.name for r in report.failed] == [f"bucket={broken_bucket:05d}"]
    assert "RC_2006-01.parquet" in report.failed[0].message
    assert report.exit_code == 1 and len(report.done) == 2
    stats = json.loads((corpus.root / "stats" / "build.json").read_text())
    assert stats["run"]["failed"][0]["bucket"] == broken_bucket
    assert stats["totals"]["chains"] == 2


def test_missing_column_names_file_and_column(reddit):
    import pyarrow.parquet as pq
    corpus = reddit.corpus(three_threads(reddit), buckets=1)
    path = corpus.bucket_files("comments", 0)[0]
    pq.write_table(pq.read_table(path).drop(["parent_id"]), path)
    report = run(corpus)
    [message] = [r.message for r in report.failed]
    assert str(path) in message and "'parent_id'" in message


def test_cli_exit_codes_and_outputs(reddit, capsys):
    corpus = reddit.corpus(three_threads(reddit), buckets=4)
    assert main(["build", str(corpus.root), "--workers", "1", "--max-turns", "4", "--preset", "raw"]) == 0
    assert "3 chains" in capsys.readouterr().out
    config = json.loads((corpus.root / "config" / "build.json").read_text())
    assert config["max_turns"] == 4 and config["min_turns"] == 2 and config["per_month"] is False
    assert main(["build", str(corpus.root), "--min-turns", "3", "--max-turns", "2"]) == 2
    assert "--max-turns" in capsys.readouterr().err
    assert main(["build", str(corpus.root / "nowhere")]) == 2


def test_config_errors_name_the_flag():
    with pytest.raises(ConfigError, match="^--min-turns"):
        BuildConfig(corpus="c", min_turns=0)
    with pytest.raises(ConfigError, match="^--workers"):
        BuildConfig(corpus="c", workers=0)
    with pytest.raises(ConfigError, match="^--filter-config"):
        BuildConfig(corpus="c", filter_config="missing.toml")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for a pool")
def test_process_pool_gives_the_same_bytes(reddit, tmp_path):
    one = reddit.corpus(three_threads(reddit), buckets=8)
    run(one)
    two = reddit.corpus(three_threads(reddit), buckets=8, root=tmp_path / "two")
    run_build(BuildConfig(corpus=two.root, workers=2, preset="raw"), progress=False)
    assert chain_bytes(one) == chain_bytes(two)
