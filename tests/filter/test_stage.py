import json

import polars as pl
import pyarrow.parquet as pq
import pytest

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import ConfigError, RdialError
from rdial.filter.stage import FilterConfig, run_filter
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, random_chains, write_chains_corpus
from rdial.schema import split_of, thread_buckets


def write_corpus(root, table, buckets=4, preset="rdial"):
    return write_chains_corpus(root, table, buckets, preset)


def cfg(root, **kw):
    return FilterConfig(corpus=root, workers=1, progress=False, **kw)


GOOD = "what is the best game to play"


def test_inline_corpus_counts_and_rejects(tmp_path):
    rows = [chain(GOOD, "the new one is good", link="t3_a"),
            chain(GOOD, "the new one is good", link="t3_b"),          # duplicate dialogue
            chain(GOOD, "see http://x.com it is the one", link="t3_c"),
            chain(GOOD, "the fun game", link="t3_d", authors=["u", "AutoModerator"]),
            chain(GOOD, "the game is fun", link="t3_e", over_18=True)]
    corpus = write_corpus(tmp_path / "c", chains_table(rows))
    report = run_filter(cfg(corpus.root, keep_rejects=True, split_fractions=(1.0, 0.0, 0.0)))
    assert report.exit_code == 0
    assert report.stats["chains_in"] == 5 and report.stats["chains_out"] == 1
    assert report.stats["dropped"] == {"bot_author": 1, "duplicate": 1, "nsfw": 1, "url": 1}
    kept = pl.read_parquet(tmp_path / "c/shards/train")
    rejects = pl.read_parquet(tmp_path / "c/rejects")
    # corpus order is bucket order: t3_b's bucket comes first, so t3_a is the duplicate
    assert kept["link_id"].to_list() == ["t3_b"]
    assert rejects["link_id"].to_list() == ["t3_d", "t3_e", "t3_a", "t3_c"]
    assert dict(zip(rejects["link_id"], rejects["reason"]))["t3_c"] == "url"
    stats = json.loads((tmp_path / "c/stats/filter.json").read_text())
    assert stats["splits"]["train"] == {"in": 5, "out": 1, "dropped": report.stats["dropped"]}
    assert stats["exit_status"] == 0
    config = json.loads((tmp_path / "c/config/filter.json").read_text())
    assert config["settings"]["preset"] == "rdial"
    assert sorted(p.name for p in (tmp_path / "c/shards").iterdir()) == ["test", "train", "valid"]
    assert not (tmp_path / "c/_work").exists()
    assert "bot_author" in report.summary() and "chains out" in report.summary()


def test_duplicate_keeps_the_first_in_corpus_order(tmp_path):
    rows = [chain(GOOD, "the new one is good", link=f"t3_{i}") for i in range(6)]
    table = chains_table(rows)
    corpus = write_corpus(tmp_path / "c", table, buckets=3)
    report = run_filter(cfg(corpus.root, preset="rdial", keep_rejects=True))
    assert report.stats["chains_out"] == 1 and report.stats["dropped"] == {"duplicate": 5}
    buckets = thread_buckets(table["link_id"], 3)
    first = min((int(b), i) for i, b in enumerate(buckets))  # lowest bucket, then row
    kept = pl.read_parquet(tmp_path / "c/shards", glob=True) if False else \
        pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "c/shards").glob("*/part-*.parquet"))])
    assert kept["link_id"].to_list() == [f"t3_{first[1]}"]


def test_splits_are_by_thread_and_deterministic(tmp_path):
    table = random_chains(4000, seed=5)
    corpus = write_corpus(tmp_path / "c", table, preset="dialogpt")
    fractions = (0.6, 0.2, 0.2)
    run_filter(cfg(corpus.root, preset="dialogpt", split_fractions=fractions, shard_rows=700,
                   row_group_rows=100))
    first = {s: [p.read_bytes() for p in sorted((tmp_path / "c/shards" / s).glob("*.parquet"))]
             for s in schema.SPLITS}
    threads = {}
    for s in schema.SPLITS:
        df = pl.read_parquet(tmp_path / "c/shards" / s)
        assert df.height > 0
        for link in df["link_id"].unique().to_list():
            assert split_of(link, fractions) == s
            assert threads.setdefault(link, s) == s
    # a rerun (e.g. after a kill) gives byte-identical shards
    run_filter(cfg(corpus.root, preset="dialogpt", split_fractions=fractions, shard_rows=700,
                   row_group_rows=100))
    again = {s: [p.read_bytes() for p in sorted((tmp_path / "c/shards" / s).glob("*.parquet"))]
             for s in schema.SPLITS}
    assert again == first
    meta = pq.ParquetFile(sorted((tmp_path / "c/shards/train").glob("*.parquet"))[0]).metadata
    assert meta.num_rows == 700 and meta.row_group(0).num_rows == 100
    assert pq.read_schema(sorted((tmp_path / "c/shards/train").glob("*.parquet"))[0]) \
        .remove_metadata() == schema.SHARDS


def test_shards_open_in_polars_pyarrow_and_datasets(tmp_path):
    corpus = write_corpus(tmp_path / "c", random_chains(500, seed=2), preset="dialogpt")
    report = run_filter(cfg(corpus.root, preset="dialogpt"))
    files = sorted(str(p) for p in (tmp_path / "c/shards/train").glob("*.parquet"))
    n = report.stats["splits"]["train"]["out"]
    assert pl.read_parquet(files).height == n
    assert pq.ParquetDataset(files).read().num_rows == n
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files={"train": files}, split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == n and ds.features["turn_weights"].feature.dtype == "float32"


def test_broken_bucket_is_reported_and_others_published(tmp_path):
    corpus = write_corpus(tmp_path / "c", random_chains(300, seed=4))
    broken = corpus.chains_file(3)
    broken.write_bytes(b"not parquet")
    report = run_filter(cfg(corpus.root, preset="paper"))
    assert report.exit_code == 1 and report.stats["failed_buckets"] == [3]
    assert str(broken) in report.failed[0].message
    assert report.stats["chains_out"] > 0


def test_bad_config_names_the_flag(tmp_path):
    with pytest.raises(ConfigError, match="--split-fractions"):
        cfg(tmp_path, split_fractions=(0.5, 0.2, 0.2))


def test_leftovers_of_a_killed_run_are_swept_and_stale_rejects_removed(tmp_path):
    corpus = write_corpus(tmp_path / "c", random_chains(200, seed=9), preset="dialogpt")
    run_filter(cfg(corpus.root, preset="dialogpt", keep_rejects=True))
    assert (tmp_path / "c/rejects").exists()
    half = tmp_path / "c/.tmp-0123456789ab-shards/train"
    half.mkdir(parents=True)
    (half / "part-00000.parquet").write_bytes(b"half")
    half_cache = tmp_path / "c/cache/.tmp-0123456789ab-filter"
    half_cache.mkdir()
    (half_cache / "bucket=00000.parquet").write_bytes(b"half")
    run_filter(cfg(corpus.root, preset="dialogpt"))
    assert not (tmp_path / "c/.tmp-0123456789ab-shards").exists()
    assert not (tmp_path / "c/rejects").exists()
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == \
        [".rdial.lock", "_ledger", "cache", "chains", "config", "corpus.json", "shards", "stats"]
    assert sorted(p.name for p in (tmp_path / "c/cache").iterdir()) == ["filter"]


def test_when_every_bucket_fails_the_previous_shards_stay(tmp_path):
    corpus = write_corpus(tmp_path / "c", chains_table([chain(GOOD, "the new one is good")]), buckets=1, preset="dialogpt")
    run_filter(cfg(corpus.root, preset="dialogpt"))
    before = (tmp_path / "c/shards/train/part-00000.parquet").read_bytes()
    corpus.chains_file(0).write_bytes(b"broken")
    with pytest.raises(RdialError, match="every bucket failed"):
        run_filter(cfg(corpus.root, preset="dialogpt"))
    assert (tmp_path / "c/shards/train/part-00000.parquet").read_bytes() == before


def test_bland_targets_dropped_through_the_stage_with_a_toml_threshold(tmp_path):
    rows = [chain(f"question number {i} is what", "i do not know the answer", link=f"t3_{i}")
            for i in range(4)]
    rows.append(chain("question is what", "i do not know the answer to that one", link="t3_x"))
    rows.append(chain("question is what", "the cat sat on a mat", link="t3_y"))
    corpus = write_corpus(tmp_path / "c", chains_table(rows), buckets=3)
    toml = tmp_path / "f.toml"
    toml.write_text('[chains]\nbland_min_count = 4\ndisable = ["duplicate"]\n')
    report = run_filter(cfg(corpus.root, config=toml, keep_rejects=True))
    # "i do not", "do not know", "not know the", "know the answer" occur 5 times (> 4): the four
    # short targets are all common trigrams; the longer one has 4 of 7 common (57% < 90%)
    assert report.stats["dropped"] == {"bland": 4}
    assert report.stats["common_trigrams"] == 4
    kept = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "c/shards").glob("*/part-*.parquet"))])
    assert sorted(kept["link_id"].to_list()) == ["t3_x", "t3_y"]


def test_rerun_on_unchanged_chains_is_up_to_date_and_changes_recompute(tmp_path):
    rows = [chain(GOOD, "the new one is good", link=f"t3_{i}") for i in ("a", "b", "c", "d")]
    corpus = write_corpus(tmp_path / "c", chains_table(rows))
    first = run_filter(cfg(corpus.root))
    assert not first.up_to_date and first.stats["chains_out"] == 1
    shard_bytes = {p.name: p.read_bytes() for p in (corpus.shards_dir / "train").iterdir()}

    again = run_filter(cfg(corpus.root))
    assert again.up_to_date
    assert again.stats == first.stats  # the stats of the run that made these shards
    assert run_filter(cfg(corpus.root, force=True)).up_to_date is False
    assert {p.name: p.read_bytes() for p in (corpus.shards_dir / "train").iterdir()} == shard_bytes

    other = run_filter(cfg(corpus.root, preset="paper"))  # other settings: recomputed
    assert not other.up_to_date and other.stats["chains_out"] == 4 and other.stats["preset"] == "paper"
    assert run_filter(cfg(corpus.root, preset="paper")).up_to_date

    rows[0] = chain(GOOD, "the old one was good", link="t3_a")
    write_corpus(tmp_path / "c", chains_table(rows))  # a rebuilt bucket: recomputed
    changed = run_filter(cfg(corpus.root, preset="paper"))
    assert not changed.up_to_date and changed.stats["chains_out"] == 4
    texts = pl.read_parquet(corpus.shards_dir / "*/*.parquet")["turn_texts"].to_list()
    assert sorted(t[-1] for t in texts) == ["the new one is good"] * 3 + ["the old one was good"]


def test_a_list_file_edited_in_place_makes_the_shards_stale(tmp_path):
    rows = [chain(GOOD, "the new one is good", link="t3_a"), chain(GOOD, "the game is fun", link="t3_b")]
    corpus = write_corpus(tmp_path / "c", chains_table(rows))
    words = tmp_path / "words.txt"
    words.write_text("zebra\n")
    toml = tmp_path / "f.toml"
    toml.write_text('base = "paper"\n[lists]\nword_files = ["words.txt"]\n')
    first = run_filter(cfg(corpus.root, config=toml))
    assert first.stats["chains_out"] == 2
    assert run_filter(cfg(corpus.root, config=toml)).up_to_date
    words.write_text("zebra\nfun\n")  # same TOML, same paths, new content
    again = run_filter(cfg(corpus.root, config=toml))
    assert not again.up_to_date
    assert again.stats["chains_out"] == 1 and again.stats["dropped"] == {"offensive_target": 1}


def test_the_shards_folder_opens_whole_in_every_reader(tmp_path):
    import pyarrow.dataset as ds

    corpus = write_corpus(tmp_path / "c", random_chains(400, seed=2), preset="dialogpt")
    report = run_filter(cfg(corpus.root, preset="dialogpt", split_fractions=(0.6, 0.2, 0.2)))
    n, shards = report.stats["chains_out"], str(corpus.shards_dir)
    assert n > 0 and all(report.stats["splits"][s]["out"] > 0 for s in schema.SPLITS)
    assert pq.read_table(shards).num_rows == n
    assert ds.dataset(shards, format="parquet").count_rows() == n
    assert pl.read_parquet(shards).height == n
    assert pq.read_table(shards).schema.remove_metadata() == schema.SHARDS
    datasets = pytest.importorskip("datasets")
    dd = datasets.load_dataset("parquet", data_dir=shards, cache_dir=str(tmp_path / "hf"))
    assert {k: len(v) for k, v in dd.items()} == {
        "train": report.stats["splits"]["train"]["out"],
        "validation": report.stats["splits"]["valid"]["out"],
        "test": report.stats["splits"]["test"]["out"]}
    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql(f"select count(*) from '{shards}/*/*.parquet'").fetchall() == [(n,)]


def test_every_split_gets_a_thread_when_the_corpus_has_enough(tmp_path):
    fractions = (0.98, 0.01, 0.01)
    links = [f"t3_{i}" for i in range(6)]
    assert {split_of(t, fractions) for t in links} == {"train"}  # hashing alone: valid, test empty
    rows = [chain(GOOD, f"the game number {i} is good", link=t) for i, t in enumerate(links)]
    corpus = write_corpus(tmp_path / "c", chains_table(rows))
    report = run_filter(cfg(corpus.root))
    lent = report.stats["lent_threads"]
    assert lent == {"t3_0": "valid", "t3_4": "test"}  # the two lowest donor ranks (crc32, salted)
    assert {s: report.stats["splits"][s]["out"] for s in schema.SPLITS} == \
        {"train": 4, "valid": 1, "test": 1}
    for split, link in (("valid", "t3_0"), ("test", "t3_4")):
        assert pl.read_parquet(corpus.shards_dir / split)["link_id"].to_list() == [link]
    assert "valid: no thread hashed into it: thread t3_0 lent by train" in report.summary()
    again = run_filter(cfg(corpus.root, force=True))  # deterministic
    assert again.stats["lent_threads"] == lent


def test_a_split_left_empty_says_why(tmp_path):
    corpus = write_corpus(tmp_path / "c", chains_table([chain(GOOD, "the new one is good")]), buckets=1)
    report = run_filter(cfg(corpus.root))
    assert {s: report.stats["splits"][s]["out"] for s in schema.SPLITS} == {"train": 1, "valid": 0, "test": 0}
    table = report.summary()
    assert ("valid: empty: no thread hashed into it, and the corpus has 1 thread(s) of kept "
            "chains, too few to lend one (each split needs one; the largest keeps one)") in table
    assert "test: empty: " in table
    assert "chains built with preset rdial (comment rules: deleted, quote, short_comment" in table


def test_a_lent_thread_whose_chains_a_corpus_wide_rule_drops_is_named(tmp_path):
    # t3_0 and t3_4 have the lowest donor ranks (lent to valid, test), but their dialogue
    # repeats t3_5's, which comes first in corpus order: duplicates, dropped after lending
    rows = [chain(GOOD, "the new one is good", link=t) for t in ("t3_5", "t3_0", "t3_4")]
    corpus = write_corpus(tmp_path / "c", chains_table(rows), buckets=1)
    report = run_filter(cfg(corpus.root))
    assert report.stats["lent_threads"] == {"t3_0": "valid", "t3_4": "test"}
    assert report.stats["dropped"] == {"duplicate": 2}
    assert ("valid: empty: no thread hashed into it: thread t3_0 lent by train, but a "
            "corpus-wide rule (duplicate, bland) dropped every chain of its threads") in report.summary()
