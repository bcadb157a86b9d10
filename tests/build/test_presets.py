"""A preset means the same in every stage: build runs its comment rules and records them in the
corpus, the corpus keeps its preset, and filter judges only chains formed by its own rules."""

import json

import polars as pl
import pytest

from rdial.build.stage import BuildConfig, run_build
from rdial.cli import main
from rdial.corpus import Corpus
from rdial.errors import ConfigError, RdialError
from rdial.filter.stage import FilterConfig, run_filter
from rdial.rules.normalize import minimal_word_count


def quoted_thread(reddit):
    c = reddit.comment
    return {"RC_2005-12.zst": [
        c("a", "t3_s", "what is the best game"), c("b", "t1_a", "&gt; best game\n\nthis one"),
        c("d", "t1_b", "i agree with that"), c("e", "t1_a", "yes"),
        c("f", "t1_a", "the new one is good"), c("g", "t1_f", "i like it a lot"),
    ]}


def build(corpus, **kw):
    return run_build(BuildConfig(corpus=corpus.root, workers=1, **kw), progress=False)


def test_build_defaults_to_rdial_and_records_its_comment_rules(reddit):
    corpus = reddit.corpus(quoted_thread(reddit))
    report = build(corpus)
    # b quotes, e is one word: both unusable; d starts a chain of one turn below the quote
    # (dropped: min_turns 2), and a is no leaf (f is its usable reply)
    assert [r["turn_ids"] for r in reddit.chains(corpus)] == [["a", "f", "g"]]
    assert report.totals["too_short"] == 1
    assert report.totals["unusable"] == {"quote": 1, "short_comment": 1}
    record = json.loads((corpus.root / "corpus.json").read_text())["preset"]
    assert record == {"name": "rdial", "config": None,
                      "comment_rules": ["deleted", "quote", "short_comment"],
                      "comment_settings": {"min_comment_words": 2},
                      "build": {"targets": "leaves", "min_turns": 2, "max_turns": 5,
                                "per_month": False, "with_title": False}}


def test_raw_preset_has_no_comment_rules(reddit):
    corpus = reddit.corpus(quoted_thread(reddit))
    report = build(corpus, preset="raw")
    assert sorted(r["turn_ids"] for r in reddit.chains(corpus)) == \
        [["a", "b", "d"], ["a", "e"], ["a", "f", "g"]]
    assert report.totals.get("unusable", {}) == {}


def test_a_corpus_keeps_its_preset_unless_forced(reddit, capsys):
    corpus = reddit.corpus(quoted_thread(reddit))
    build(corpus, preset="paper")
    again = build(corpus)  # no --preset: the corpus' own
    assert len(again.skipped) == len(again.results) > 0 and not again.done
    assert json.loads((corpus.root / "corpus.json").read_text())["preset"]["name"] == "paper"
    with pytest.raises(ConfigError, match=r"^--preset: .* was built with preset paper; a corpus "
                                          r"keeps its preset: drop --preset, or pass --force "
                                          r"to rebuild every chain with raw$"):
        build(corpus, preset="raw")
    assert main(["build", str(corpus.root), "--preset", "dialogpt", "--workers", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    forced = build(corpus, preset="raw", force=True)
    assert len(forced.done) == len(forced.results) > 0 and not forced.skipped
    assert json.loads((corpus.root / "corpus.json").read_text())["preset"]["name"] == "raw"


def test_build_keeps_other_records_beside_the_preset(reddit):
    corpus = reddit.corpus(quoted_thread(reddit))
    corpus.write_metadata({"keys": {"file": "keys.tsv"}})  # e.g. DialoGPT's key files
    build(corpus)
    meta = json.loads((corpus.root / "corpus.json").read_text())
    assert meta["keys"] == {"file": "keys.tsv"} and meta["preset"]["name"] == "rdial"


def test_filter_stops_when_chains_lack_its_comment_rules(reddit):
    corpus = reddit.corpus(quoted_thread(reddit))
    build(corpus, preset="raw")
    cfg = FilterConfig(corpus=corpus.root, preset="rdial", workers=1, progress=False)
    with pytest.raises(RdialError) as err:
        run_filter(cfg)
    assert str(err.value) == (
        f"preset rdial drops comments by deleted, quote, short_comment before chains are formed, "
        f"but {corpus.chains_dir} was built with preset raw (no comment rule); run "
        f"`rdial build {corpus.root} --preset rdial --force` first")
    assert not corpus.shards_dir.exists()
    # a filter TOML that changes a comment threshold needs the chains rebuilt with it too
    build(corpus, preset="rdial", force=True)
    toml = corpus.root.parent / "f.toml"
    toml.write_text("[comments]\nmin_comment_words = 3\n")
    with pytest.raises(RdialError, match=r"with \{'min_comment_words': 2\} \(wanted "
                                         r"\{'min_comment_words': 3\}\)\); run `rdial build .* "
                                         r"--preset rdial --filter-config .*f.toml --force` first"):
        run_filter(FilterConfig(corpus=corpus.root, config=toml, workers=1, progress=False))
    # chains built with that TOML: filter without it is told to pass it
    build(corpus, preset="rdial", filter_config=toml)
    with pytest.raises(RdialError, match=r"\(deleted, quote, short_comment with "
                                         r"\{'min_comment_words': 3\} \(wanted \{'min_comment_words': 2\}\) and "
                                         r"--filter-config .*f.toml\); run `rdial build .* --preset rdial "
                                         r"--force` first, or pass --config .*f.toml as the build did$"):
        run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False))
    judged = run_filter(FilterConfig(corpus=corpus.root, config=toml, workers=1, progress=False))
    assert (judged.stats["chains_in"], judged.stats["chains_out"]) == (1, 1)  # a f g
    build(corpus, preset="rdial", force=True)
    # paper shares rdial's comment rules: it judges these chains as its own build would
    report = run_filter(FilterConfig(corpus=corpus.root, preset="paper", workers=1, progress=False))
    assert report.stats["preset"] == "paper"
    assert report.stats["chains_built_with"] == {"name": "rdial",
                                                 "comment_rules": ["deleted", "quote", "short_comment"]}


def test_filter_refuses_chains_without_a_record(reddit):
    corpus = reddit.corpus(quoted_thread(reddit))
    build(corpus)
    meta = json.loads((corpus.root / "corpus.json").read_text())
    del meta["preset"]
    (corpus.root / "corpus.json").write_text(json.dumps(meta))
    with pytest.raises(RdialError, match=r"no preset record .* run `rdial build .* --preset "
                                         r"rdial --force`$"):
        run_filter(FilterConfig(corpus=corpus.root, workers=1, progress=False))


def one_word_turns(root) -> int:
    bodies = pl.read_parquet(root / "comments" / "**" / "*.parquet").select("id", "body")
    ids = pl.read_parquet(root / "shards" / "*" / "*.parquet")["turn_ids"].explode()
    turns = pl.DataFrame({"id": ids}).join(bodies.unique("id"), on="id", how="left")
    return sum(minimal_word_count(b) < 2 for b in turns["body"].to_list())


@pytest.mark.slow
def test_the_readme_commands_judge_by_every_rule(tmp_path, monkeypatch, capsys):
    """Issue 15: `rdial build corpus` then `rdial filter corpus` used to skip the rdial preset's
    comment rules (one-word turns in the shards); now build runs them, as `--preset rdial`."""
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--months", "2019-09", "--comments", "800", "--seed", "11",
                 "--out", "dumps"]) == 0
    for name in ("corpus", "raw"):
        assert main(["extract", "dumps", "--out", name, "--buckets", "4", "--no-progress"]) == 0
    assert main(["build", "corpus"]) == 0                      # the README, exactly
    assert main(["filter", "corpus"]) == 0
    assert json.loads((tmp_path / "corpus/corpus.json").read_text())["preset"]["name"] == "rdial"
    assert json.loads((tmp_path / "corpus/stats/filter.json").read_text())["chains_out"] == 143
    assert one_word_turns(tmp_path / "corpus") == 0
    # the same month built without comment rules (what the README's commands did before) holds
    # one-word turns; filter with the rdial preset refuses those chains and names the command
    raw = Corpus.open(tmp_path / "raw")
    build(raw, preset="raw")
    run_filter(FilterConfig(corpus=raw.root, workers=1, progress=False))  # its own preset: raw
    assert one_word_turns(tmp_path / "raw") > 0
    capsys.readouterr()
    assert main(["filter", "raw", "--preset", "rdial", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `rdial build raw --preset rdial --force` first" in err
