"""The kept trigram totals (rdial/filter/trigram_totals.py): a run on changed chains updates the
last run's totals to exactly the counts of a recount, gives the shards of a filter from scratch,
and falls back to the recount whenever the totals cannot be trusted."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rdial.errors import InputError
from rdial.filter import stage as filter_stage
from rdial.filter import trigram_totals, verdicts
from rdial.filter.stage import FilterConfig, run_filter
from rdial.filter.trigram_totals import trigram_delta
from tests.filter.synthetic import random_chains, write_chains_corpus

CONFIG = 'base = "rdial"\nbland_min_count = 3\nbland_fraction = 0.5\n'
RUN_ONLY = {"seconds", "seconds_per_step", "peak_rss_mb", "chains_judged", "chains_reused",
            "exit_status", "problems", "failed_tasks", "trigram_totals"}
BUCKETS = 4
PARTS = 8  # fewer spill partitions than the default 64: fewer tasks, a faster test


def cfg(root: Path, **kw) -> FilterConfig:
    kw.setdefault("config", root.parent / "filters.toml")
    kw.setdefault("spill_partitions", PARTS)
    return FilterConfig(corpus=root, workers=1, progress=False, keep_rejects=True, **kw)


def outputs(root: Path) -> dict:
    files = {str(p.relative_to(root)): p.read_bytes()
             for sub in ("shards", "rejects") for p in sorted((root / sub).rglob("*.parquet"))}
    stats = json.loads((root / "stats/filter.json").read_text())
    files["stats"] = {k: v for k, v in stats.items() if k not in RUN_ONLY}
    return files


def totals(root: Path) -> dict:
    d = trigram_totals.totals_dir(root)
    frame = pl.read_parquet(sorted(d.glob("part=*.parquet")))
    assert frame["trigram"].is_unique().all()
    return dict(zip(frame["trigram"].to_list(), frame["count"].to_list()))


def oracle(root: Path) -> tuple[Counter, int]:
    """Trigram counts of every passing target and the number of later dialogue copies, from the
    verdict files, in plain Python."""
    counts, seen, later = Counter(), set(), 0
    for p in sorted(verdicts.cache_dir(root).glob("bucket=*.parquet")):  # corpus order
        for tgt, h1, h2 in verdicts.read_rows(p).filter(pl.col("reason").is_null()) \
                .select("_tgt", "h1", "h2").iter_rows():
            tokens = [t for t in tgt.lower().split(" ") if t]
            counts.update(" ".join(tokens[i:i + 3]) for i in range(len(tokens) - 2))
            later += (h1, h2) in seen
            seen.add((h1, h2))
    return counts, later


def scratch(root: Path, copy: Path, **kw) -> tuple[dict, dict]:
    shutil.copytree(root, copy)
    shutil.copy(root.parent / "filters.toml", copy.parent / "filters.toml")
    report = run_filter(cfg(copy, force=True, **kw))
    assert report.exit_code == 0 and report.stats["trigram_totals"] == "recounted: --force"
    return outputs(copy), totals(copy)


def month(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The chains after a month: some removed, some changed (score or last turn), some new
    (fresh threads, copies of old dialogues in other threads, and repeats of whole rows)."""
    rng = np.random.default_rng(seed)
    n = df.height
    keep = rng.random(n) >= 0.08
    rescore = rng.random(n) < 0.06
    retext = rng.random(n) < 0.06
    texts = df["turn_texts"].to_list()
    scores = df["turn_scores"].to_list()
    for i in np.flatnonzero(rescore):
        scores[i] = [(s or 0) + 1 for s in scores[i]]
    donors = rng.integers(0, n, size=n)
    for i in np.flatnonzero(retext):
        texts[i] = texts[i][:-1] + [texts[donors[i]][-1]]
    changed = df.with_columns(pl.Series("turn_texts", texts, dtype=df["turn_texts"].dtype),
                              pl.Series("turn_scores", scores, dtype=df["turn_scores"].dtype))
    fresh = pl.from_arrow(random_chains(60, seed=seed)).with_columns(
        ("t3_new" + pl.col("link_id")).alias("link_id"),
        pl.col("turn_ids").list.eval("n" + pl.element()))
    copies = df.sample(15, seed=seed).with_columns(("t3_copy" + pl.col("link_id")).alias("link_id"))
    repeats = changed.filter(pl.Series(keep)).sample(5, seed=seed + 1)
    return pl.concat([changed.filter(pl.Series(keep)), fresh, copies, repeats])


@pytest.fixture
def corpus(tmp_path):
    """A corpus of 400 random chains (plus copied dialogues and repeated rows) filtered once."""
    (tmp_path / "filters.toml").write_text(CONFIG)
    df = pl.from_arrow(random_chains(400, seed=21))
    df = pl.concat([df, df.head(10).with_columns(("t3_dup" + pl.col("link_id")).alias("link_id")),
                    df.slice(20, 3)])
    write_chains_corpus(tmp_path / "corpus", df.to_arrow(), BUCKETS)
    first = run_filter(cfg(tmp_path / "corpus"))
    assert first.exit_code == 0 and first.stats["trigram_totals"] == "recounted: no totals kept"
    return tmp_path / "corpus", df


def test_trigram_delta_is_a_multiset_difference_by_key():
    old = pl.DataFrame({"_k1": [1, 1, 2, 3], "_k2": [1, 1, 2, 3],
                        "_tgt": ["a b c", "a b c", "x y z w", "p q r"]})
    new = pl.DataFrame({"_k1": [1, 3, 3, 4], "_k2": [1, 3, 3, 4],
                        "_tgt": ["a b c", "p q r", "p q r", "A B C d"]})
    got = dict(trigram_delta(old, new).iter_rows())
    # key 1: two rows -> one (-"a b c"); key 2 gone; key 3: one -> two (+"p q r"); key 4 new:
    # +"a b c" (lowercased) +"b c d"; "a b c" nets to 0 and is left out
    assert got == {"x y z": -1, "y z w": -1, "p q r": 1, "b c d": 1}
    assert dict(trigram_delta(None, new).iter_rows()) == {"a b c": 2, "p q r": 2, "b c d": 1}


@pytest.mark.parametrize("seed", [1, 2])
def test_updated_totals_equal_a_recount_after_added_changed_and_removed_chains(corpus, tmp_path, seed):
    root, df = corpus
    now = month(df, seed)
    write_chains_corpus(root, now.to_arrow(), BUCKETS)
    report = run_filter(cfg(root))
    assert report.exit_code == 0 and report.stats["trigram_totals"] == "updated"
    assert 0 < report.stats["chains_judged"] < report.stats["chains_in"] == now.height
    counts, later = oracle(root)
    assert totals(root) == dict(counts)  # every trigram, exactly
    assert report.stats["dropped"]["duplicate"] == later > 10
    assert report.stats["dropped"]["bland"] > 0
    want, recounted = scratch(root, tmp_path / "scratch" / "corpus")
    assert recounted == dict(counts)
    common = {t for t, c in counts.items() if c > 3}
    assert report.stats["common_trigrams"] == len(common) > 0
    got = outputs(root)
    assert [k for k in want if got.get(k) != want[k]] == [] and sorted(got) == sorted(want)
    # a second month on top of the updated totals still matches
    write_chains_corpus(root, month(now, seed + 10).to_arrow(), BUCKETS)
    again = run_filter(cfg(root))
    assert again.stats["trigram_totals"] == "updated"
    assert totals(root) == dict(oracle(root)[0])


def test_the_totals_are_cached_beside_the_verdicts_with_a_manifest(corpus):
    root, _ = corpus
    d = trigram_totals.totals_dir(root)
    assert sorted(p.name for p in d.iterdir()) == \
        ["manifest.json"] + [f"part={p:05d}.parquet" for p in range(PARTS)]
    manifest = json.loads((d / "manifest.json").read_text())
    assert sorted(manifest["buckets"]) == [f"{b:05d}" for b in range(BUCKETS)]
    rows = sum(v["rows"] for v in manifest["buckets"].values())
    assert rows == pl.read_parquet(verdicts.cache_dir(root)).height == 413


def _changed(root: Path, df: pl.DataFrame) -> None:
    write_chains_corpus(root, month(df, 7).to_arrow(), BUCKETS)


@pytest.mark.parametrize("damage,why", [
    ("manifest", "recounted: no totals kept"),
    ("partitions", "recounted: other settings, partitions or format"),
    ("settings", "recounted: other settings, partitions or format"),
    ("verdict file", "recounted: bucket 2: its verdicts are not those the kept totals count"),
    ("bucket gone", "recounted: bucket 3 is no longer in chains/"),
    ("totals emptied", "recounted: a kept total went below zero"),
    ("format", "recounted: other settings, partitions or format"),
])
def test_totals_that_cannot_be_trusted_are_recounted(corpus, tmp_path, damage, why):
    root, df = corpus
    _changed(root, df)
    d = trigram_totals.totals_dir(root)
    kw = {}
    if damage == "manifest":
        (d / "manifest.json").unlink()
    elif damage == "partitions":
        kw["spill_partitions"] = 4
    elif damage == "settings":
        (root.parent / "other.toml").write_text(CONFIG + "max_total_words = 150\n")
        kw["config"] = root.parent / "other.toml"
    elif damage == "verdict file":  # the verdicts of another run of bucket 2
        path = verdicts.cache_path(verdicts.cache_dir(root), 2)
        pl.read_parquet(path).head(5).write_parquet(path)
    elif damage == "bucket gone":
        (root / "chains" / "bucket=00003.parquet").unlink()
    elif damage == "totals emptied":  # wrong totals: removed chains drive counts below zero
        for p in d.glob("part=*.parquet"):
            pl.read_parquet(p).clear().write_parquet(p)
    elif damage == "format":
        m = json.loads((d / "manifest.json").read_text())
        (d / "manifest.json").write_text(json.dumps({**m, "format": "0"}))
    report = run_filter(cfg(root, **kw))
    assert report.exit_code == 0 and report.stats["trigram_totals"] == why
    assert totals(root) == dict(oracle(root)[0])  # recounted exactly (so the shards are those of
    # a filter from scratch: the tests above and below compare the bytes)
    write_chains_corpus(root, month(month(df, 7), 8).to_arrow(), BUCKETS)  # the next month
    assert run_filter(cfg(root, **kw)).stats["trigram_totals"] == "updated"  # kept again


def test_a_failed_bucket_publishes_no_manifest_and_the_next_run_recounts(corpus, tmp_path, monkeypatch):
    root, df = corpus
    _changed(root, df)
    real = filter_stage.judge_bucket

    def failing(task):
        if task.bucket == 1:
            raise InputError("bucket 1 is damaged")
        return real(task)

    monkeypatch.setattr(filter_stage, "judge_bucket", failing)
    report = run_filter(cfg(root))
    assert report.exit_code == 1
    assert report.stats["trigram_totals"] == "recounted: a bucket failed"
    assert not trigram_totals.manifest_path(trigram_totals.totals_dir(root)).exists()
    monkeypatch.setattr(filter_stage, "judge_bucket", real)
    again = run_filter(cfg(root))
    assert again.exit_code == 0 and again.stats["trigram_totals"] == "recounted: no totals kept"
    want, _ = scratch(root, tmp_path / "scratch" / "corpus")
    assert outputs(root) == want


@pytest.mark.parametrize("kill", ["step 2", "after the shards"])
def test_a_killed_run_leaves_caches_the_next_run_can_trust_or_recounts(corpus, tmp_path, monkeypatch, kill):
    root, df = corpus
    _changed(root, df)
    old = {p.name: p.read_bytes() for p in trigram_totals.totals_dir(root).iterdir()}
    if kill == "step 2":
        def killed(task):
            raise KeyboardInterrupt
        monkeypatch.setattr(filter_stage, "reduce_part", killed)
    else:
        real = filter_stage.replace_dir

        def killed(tmp, final):
            if Path(final) == trigram_totals.totals_dir(root):
                raise KeyboardInterrupt  # shards swapped in, the totals not yet
            real(tmp, final)
        monkeypatch.setattr(filter_stage, "replace_dir", killed)
    with pytest.raises(KeyboardInterrupt):
        run_filter(cfg(root))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in trigram_totals.totals_dir(root).iterdir()} == old
    report = run_filter(cfg(root))
    # step 1 rewrote the verdicts in place before either kill: they no longer digest to what
    # the old totals count, so the rerun recounts (and reuses every verdict)
    assert report.stats["trigram_totals"] == \
        "recounted: bucket 0: its verdicts are not those the kept totals count"
    assert report.stats["chains_judged"] == 0
    assert sorted(p.name for p in (root / "cache").iterdir()) == ["filter", "filter_counts"]
    assert totals(root) == dict(oracle(root)[0])
    want, _ = scratch(root, tmp_path / "scratch" / "corpus")
    assert outputs(root) == want


def test_without_bland_no_totals_are_kept(corpus):
    root, _ = corpus
    (root.parent / "nobland.toml").write_text(CONFIG + '[chains]\ndisable = ["bland"]\n')
    report = run_filter(cfg(root, config=root.parent / "nobland.toml"))
    assert report.exit_code == 0 and "trigram_totals" not in report.stats
    assert not trigram_totals.totals_dir(root).exists()
