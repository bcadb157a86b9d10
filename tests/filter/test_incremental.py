"""The incremental filter (rdial/filter/verdicts.py): after a month is added and built
incrementally, `rdial filter` judges only the chains whose content is new and reuses the other
verdicts, to the bytes of a filter from scratch; other settings judge every chain again; a
killed run leaves a cache the next run can use."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from rdial import schema
from rdial.cli import main
from rdial.filter import stage as filter_stage
from rdial.filter import verdicts
from rdial.filter.stage import FilterConfig, run_filter
from rdial.synth import SynthConfig, generate_dumps
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, write_chains_corpus

MONTHS = ["2012-01", "2012-02", "2012-03"]
# bland fires on a small corpus only with a low count (no synthetic dialogue repeats at this
# size: duplicates are tested on inline chains below)
CONFIG = 'base = "rdial"\nbland_min_count = 2\nbland_fraction = 0.5\n'
RUN_ONLY = {"seconds", "seconds_per_step", "peak_rss_mb", "chains_judged", "chains_reused", "exit_status",
            "problems", "failed_tasks", "trigram_totals"}


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dumps")
    generate_dumps(SynthConfig(out=out, months=MONTHS, comments=1500, seed=5))
    return out


def cli(*args) -> None:
    assert main([*map(str, args)]) == 0


def extract(dumps: Path, corpus: Path, months: list[str]) -> None:
    files = [dumps / f"{k}_{m}.zst" for m in months for k in ("RC", "RS")]
    cli("extract", *files, "--out", corpus, "--buckets", 4, "--no-progress")


def cfg(corpus: Path, **kw) -> FilterConfig:
    kw.setdefault("config", corpus.parent / "filters.toml")
    kw.setdefault("keep_rejects", True)
    return FilterConfig(corpus=corpus, workers=1, progress=False, **kw)


def chain_rows(corpus: Path) -> set:
    """Every chain row of the corpus, as a hashable tuple (the oracle of what is new)."""
    rows = set()
    for p in sorted((corpus / "chains").glob("*.parquet")):
        for r in pl.read_parquet(p).select(schema.CHAINS.names).iter_rows():
            rows.add(tuple(tuple(v) if isinstance(v, list) else v for v in r))
    return rows


def chain_count(corpus: Path) -> int:
    return sum(pl.read_parquet(p).height for p in (corpus / "chains").glob("*.parquet"))


def outputs(corpus: Path) -> dict:
    files = {str(p.relative_to(corpus)): p.read_bytes()
             for sub in ("shards", "rejects") for p in sorted((corpus / sub).rglob("*.parquet"))}
    stats = json.loads((corpus / "stats/filter.json").read_text())
    files["stats"] = {k: v for k, v in stats.items() if k not in RUN_ONLY}
    return files


def from_scratch(corpus: Path, copy: Path, **kw) -> tuple[dict, dict]:
    """The outputs and stats of a filter of a copy of `corpus` whose verdict cache is deleted."""
    shutil.copytree(corpus, copy)
    shutil.copy(corpus.parent / "filters.toml", copy.parent / "filters.toml")
    shutil.rmtree(copy / "cache")
    report = run_filter(cfg(copy, **kw))
    assert report.exit_code == 0
    return outputs(copy), report.stats


@pytest.fixture(scope="module")
def grown_once(dumps, tmp_path_factory):
    """A corpus of two months built and filtered, then the third month extracted and built
    incrementally: (corpus, chain rows before the month)."""
    corpus = tmp_path_factory.mktemp("grown") / "corpus"
    (corpus.parent / "filters.toml").write_text(CONFIG)
    extract(dumps, corpus, MONTHS[:2])
    cli("build", corpus, "--workers", 1, "--no-progress")
    first = run_filter(cfg(corpus))
    assert first.exit_code == 0 and first.stats["chains_reused"] == 0
    assert first.stats["chains_judged"] == first.stats["chains_in"] == chain_count(corpus)
    before = chain_rows(corpus)
    extract(dumps, corpus, MONTHS[2:])
    # the increment however much of each bucket the month reaches (1 month in 3: the cost
    # choice would build them whole, docs/build.md)
    cli("build", corpus, "--workers", 1, "--no-progress", "--rebuild-share", 1)
    build = json.loads((corpus / "stats/build.json").read_text())["run"]
    assert build["built_from_chains"] == 4  # the build's incremental path ran
    return corpus, before


@pytest.fixture
def grown(grown_once, tmp_path):
    corpus, before = grown_once
    shutil.copytree(corpus.parent, tmp_path / "inc")
    return tmp_path / "inc" / "corpus", before


def test_a_new_month_judges_only_new_chains_to_the_bytes_of_a_filter_from_scratch(grown, tmp_path):
    corpus, before = grown
    now = chain_rows(corpus)
    report = run_filter(cfg(corpus))
    assert report.exit_code == 0
    s = report.stats
    assert s["chains_judged"] == len(now - before) and s["chains_reused"] == len(now & before)
    assert s["chains_judged"] + s["chains_reused"] == s["chains_in"] == chain_count(corpus)
    assert 0 < s["chains_judged"] < s["chains_in"] // 2  # most verdicts were reused
    assert s["dropped"]["bland"] > 0  # a corpus-wide rule, updated from the kept totals
    assert s["trigram_totals"] == "updated"
    want, scratch = from_scratch(corpus, tmp_path / "scratch" / "corpus")
    assert scratch["trigram_totals"] == "recounted: no totals kept"
    assert scratch["chains_judged"] == s["chains_in"] and scratch["chains_reused"] == 0
    got = outputs(corpus)
    assert sorted(got) == sorted(want) and len(want) > 3
    assert [k for k in want if got[k] != want[k]] == []
    # the cache holds this run's chains only, one file per bucket, outside shards/
    cached = pl.read_parquet(verdicts.cache_dir(corpus))
    assert cached.height == s["chains_in"]
    # the verdicts only, no chain column (step 3 rebuilds a kept chain from chains/)
    assert cached.columns == ["_k1", "_k2", "reason", "split", "_turns", "turn_weights", "_norm",
                              "h1", "h2"]
    dropped = cached.filter(pl.col("reason").is_not_null())
    local = {r: n for r, n in s["dropped"].items() if r not in filter_stage.CORPUS_WIDE}
    assert dropped.height == sum(local.values()) > 0
    assert dropped.select(pl.col("turn_weights", "_norm", "h1", "h2").null_count().sum()).row(0) == \
        (dropped.height,) * 4
    assert sorted(p.name for p in verdicts.cache_dir(corpus).iterdir()) == \
        [f"bucket={b:05d}.parquet" for b in range(4)]
    assert f"{s['chains_judged']} chains judged, {s['chains_reused']} verdicts reused" \
        in report.summary()


@pytest.mark.parametrize("change", ["config", "split_fractions", "force"])
def test_other_settings_judge_every_chain_again(grown, tmp_path, change):
    corpus, _ = grown
    (corpus.parent / "other.toml").write_text(CONFIG + "max_total_words = 150\n")
    kw = {"config": {"config": corpus.parent / "other.toml"},
          "split_fractions": {"split_fractions": (0.9, 0.05, 0.05)},
          "force": {"force": True}}[change]
    report = run_filter(cfg(corpus, **kw))
    assert report.stats["chains_judged"] == report.stats["chains_in"] == chain_count(corpus)
    assert report.stats["chains_reused"] == 0
    want, _ = from_scratch(corpus, tmp_path / "scratch" / "corpus", **kw)
    assert outputs(corpus) == want
    again = run_filter(cfg(corpus, **kw, keep_rejects=False) if change != "force" else
                       cfg(corpus, keep_rejects=False))  # the same settings reuse them all
    assert again.stats["chains_judged"] == 0
    assert again.stats["chains_reused"] == again.stats["chains_in"]


def test_output_options_do_not_invalidate_verdicts(grown):
    corpus, _ = grown
    run_filter(cfg(corpus))
    report = run_filter(cfg(corpus, keep_rejects=False, shard_rows=50))
    assert report.stats["chains_judged"] == 0
    assert report.stats["chains_reused"] == report.stats["chains_in"]
    assert not (corpus / "rejects").exists()


def test_a_run_killed_after_its_verdicts_are_written_leaves_a_usable_cache(grown, tmp_path, monkeypatch):
    """Step 1 rewrites each bucket's verdicts in place; killed in step 3 (the shards not yet
    written), the run leaves the old shards and trigram totals beside the new verdicts: the
    rerun reuses every verdict and recounts the totals, which no longer count those files."""
    corpus, before = grown
    old_shards = {p.name: p.read_bytes() for p in (corpus / "shards").rglob("*.parquet")}
    old_cache = {p.name: p.read_bytes() for p in verdicts.cache_dir(corpus).iterdir()}
    now = chain_rows(corpus)

    def killed(tasks):
        raise KeyboardInterrupt  # step 1 has written the verdicts; no shard file is written yet

    monkeypatch.setattr(filter_stage, "link_pieces", killed)
    with pytest.raises(KeyboardInterrupt):
        run_filter(cfg(corpus))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (corpus / "shards").rglob("*.parquet")} == old_shards
    new_cache = {p.name: p.read_bytes() for p in verdicts.cache_dir(corpus).iterdir()}
    assert sorted(new_cache) == sorted(old_cache) == [f"bucket={b:05d}.parquet" for b in range(4)]
    assert [n for n in new_cache if new_cache[n] != old_cache[n]] != []  # the new month's verdicts
    assert pl.read_parquet(verdicts.cache_dir(corpus)).height == len(now) == chain_count(corpus)
    report = run_filter(cfg(corpus))
    assert report.stats["chains_judged"] == 0
    assert report.stats["chains_reused"] == chain_count(corpus)
    assert report.stats["trigram_totals"].startswith("recounted: bucket ")
    assert report.stats["trigram_totals"].endswith(": its verdicts are not those the kept totals count")
    assert sorted(p.name for p in (corpus / "cache").iterdir()) == ["filter", "filter_counts"]
    assert not (corpus / "_work").exists()
    want, _ = from_scratch(corpus, tmp_path / "scratch" / "corpus")
    assert outputs(corpus) == want
    assert len(now - before) > 0


GOOD = "what is the best game to play"


def test_only_changed_and_new_chains_are_judged(tmp_path):
    """Inline chains: a re-fetched comment (edited text, new score) changes its chain's row and a
    new chain repeats an old dialogue; only those are judged, to the bytes of a fresh filter."""
    rows = [chain(GOOD, f"the new one is good number {i}", link=f"t3_{i}") for i in range(8)]
    corpus = write_chains_corpus(tmp_path / "c", chains_table(rows), 2, "rdial")
    first = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False))
    assert (first.stats["chains_judged"], first.stats["chains_reused"]) == (8, 0)
    rows[3] = chain(GOOD, "see http://x.com it is the one", link="t3_3")
    rows[5] = chain(GOOD, "the new one is good number 5", link="t3_5", scores=[5, -3])
    rows.append(chain(GOOD, "the new one is good number 0", link="t3_8"))
    corpus = write_chains_corpus(tmp_path / "c", chains_table(rows), 2, "rdial")
    report = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False,
                                     keep_rejects=True))
    assert (report.stats["chains_judged"], report.stats["chains_reused"]) == (3, 6)
    assert report.stats["dropped"] == {"duplicate": 1, "url": 1}
    rejects = pl.read_parquet(tmp_path / "c/rejects")
    assert sorted(rejects["link_id"].to_list()) == ["t3_3", sorted(["t3_0", "t3_8"],
        key=lambda t: (schema.thread_bucket(t, 2), t))[1]]
    assert pl.read_parquet(tmp_path / "c/shards")["turn_scores"].to_list().count([5, -3]) == 1
    got = outputs(corpus.root)
    shutil.rmtree(verdicts.cache_dir(corpus.root))
    fresh = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False,
                                    keep_rejects=True, force=True))
    assert (fresh.stats["chains_judged"], fresh.stats["chains_reused"]) == (9, 0)
    assert outputs(corpus.root) == got


def test_a_bucket_gone_from_chains_takes_its_verdicts_with_it(tmp_path):
    rows = [chain(GOOD, f"the new one is good number {i}", link=f"t3_{i}") for i in range(8)]
    corpus = write_chains_corpus(tmp_path / "c", chains_table(rows), 2, "rdial")
    run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False))
    cache = verdicts.cache_dir(corpus.root)
    assert sorted(p.name for p in cache.iterdir()) == ["bucket=00000.parquet", "bucket=00001.parquet"]
    kept = pl.read_parquet(corpus.chains_file(0)).height
    assert 0 < kept < 8
    corpus.chains_file(1).unlink()
    report = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False))
    assert (report.stats["chains_judged"], report.stats["chains_reused"]) == (0, kept)
    assert sorted(p.name for p in cache.iterdir()) == ["bucket=00000.parquet"]
    assert pl.read_parquet(cache).height == kept


def test_identical_chain_rows_share_one_verdict_and_keep_their_rows(tmp_path):
    rows = [chain(GOOD, "the new one is good", link="t3_a")] * 2 + [chain(GOOD, "the game", link="t3_b")]
    corpus = write_chains_corpus(tmp_path / "c", chains_table(rows), 1, "rdial")
    first = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False, keep_rejects=True))
    assert first.stats["dropped"] == {"duplicate": 1} and first.stats["chains_out"] == 2
    got = outputs(corpus.root)
    rows.append(chain(GOOD, "the new game", link="t3_c"))
    corpus = write_chains_corpus(tmp_path / "c", chains_table(rows), 1, "rdial")
    third = run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False, keep_rejects=True))
    assert (third.stats["chains_judged"], third.stats["chains_reused"]) == (1, 3)
    assert third.stats["dropped"] == {"duplicate": 1} and third.stats["chains_out"] == 3
    assert pl.read_parquet(verdicts.cache_dir(corpus.root)).height == 4
    assert got["rejects/part-00000.parquet"] == outputs(corpus.root)["rejects/part-00000.parquet"]
