"""The filter stage's hook: a preset's comment rules run before chains form; its build defaults
fill the flags not given. Tested with a fake preset (exact), then with the real one if present."""

import dataclasses
import json

import polars as pl
import pytest

import rdial.build.preset_hook as hook
from rdial import schema
from rdial.build.stage import BuildConfig, run_build


@dataclasses.dataclass
class FakeSettings:
    build_defaults: dict
    word: str = "spam"


@pytest.fixture
def fake_preset(monkeypatch):
    import rdial.filter.comment_rules as comment_rules
    import rdial.filter.presets as presets
    seen = []

    def load_filter_settings(preset, config_path=None):
        assert preset == "fake"
        return FakeSettings(build_defaults={"max_turns": 2, "per_month": True})

    def comment_rule_reasons(comments, submissions, settings):
        seen.append(comments)
        assert comments.columns == schema.COMMENTS.names and submissions is None
        return comments.select(pl.when(pl.col("body").str.contains(settings.word))
                               .then(pl.lit("spam"))).to_series()

    monkeypatch.setattr(presets, "load_filter_settings", load_filter_settings, raising=False)
    monkeypatch.setattr(comment_rules, "comment_rule_reasons", comment_rule_reasons, raising=False)
    hook.load_settings.cache_clear()
    yield seen
    hook.load_settings.cache_clear()


def months(reddit):
    c = reddit.comment
    return {"RC_2005-12.zst": [c("a", "t3_s", "A"), c("b", "t1_a", "B"), c("c", "t1_b", "spam C"),
                               c("d", "t1_c", "D"), c("e", "t1_d", "E"), c("x", "t1_e", "[deleted]")],
            "RC_2006-01.zst": [c("f", "t1_e", "F"), c("g", "t1_f", "G")]}


def test_comment_rules_and_build_defaults_of_a_preset(reddit, fake_preset):
    corpus = reddit.corpus(months(reddit))
    report = run_build(BuildConfig(corpus=corpus.root, workers=1, preset="fake"), progress=False)
    # c is dropped by the rule (d starts a chain); per_month from the preset: f's parent is in
    # December, so f starts one; max_turns=2 from the preset
    assert reddit.ids(corpus) == [["a", "b"], ["d", "e"], ["f", "g"]]
    assert report.totals["unusable"] == {"deleted": 1, "spam": 1}
    # the rules saw only comments the body rules left usable
    assert sorted(fake_preset[0]["id"].to_list()) == ["a", "b", "c", "d", "e", "f", "g"]
    config = json.loads((corpus.root / "config" / "build.json").read_text())
    assert (config["preset"], config["max_turns"], config["per_month"], config["targets"]) == \
        ("fake", 2, True, "leaves")


def test_explicit_flags_override_the_preset(reddit, fake_preset):
    corpus = reddit.corpus(months(reddit))
    run_build(BuildConfig(corpus=corpus.root, workers=1, preset="fake", max_turns=3,
                          per_month=False), progress=False)
    assert reddit.ids(corpus) == [["a", "b"], ["e", "f", "g"]]


def test_changed_preset_settings_rebuild_every_bucket(reddit, fake_preset, monkeypatch, tmp_path):
    import rdial.filter.presets as presets
    corpus = reddit.corpus(months(reddit))
    toml = tmp_path / "mine.toml"
    toml.write_text("word = 'spam'\n")
    cfg = BuildConfig(corpus=corpus.root, workers=1, preset="fake", filter_config=toml)
    first = run_build(cfg, progress=False)
    assert len(run_build(cfg, progress=False).done) == 0
    toml.write_text("word = 'B'\n")  # the file changed: every bucket is rebuilt
    assert len(run_build(cfg, progress=False).done) == len(first.done)
    # the settings a preset resolves to changed (e.g. a new rdial version): rebuilt too
    monkeypatch.setattr(presets, "load_filter_settings", lambda p, c=None: FakeSettings(
        build_defaults={"max_turns": 2, "per_month": True}, word="D"), raising=False)
    hook.load_settings.cache_clear()
    assert len(run_build(cfg, progress=False).done) == len(first.done)
    # d dropped by the new word: "spam C" is a leaf again (last 2 turns), e is alone
    assert reddit.ids(corpus) == [["b", "c"], ["f", "g"]]


def test_unknown_build_default_names_the_flag(reddit, monkeypatch):
    import rdial.filter.presets as presets
    monkeypatch.setattr(presets, "load_filter_settings",
                        lambda p, c=None: FakeSettings(build_defaults={"max_depth": 5}), raising=False)
    hook.load_settings.cache_clear()
    corpus = reddit.corpus(months(reddit))
    with pytest.raises(Exception, match="^--preset: build default 'max_depth'"):
        run_build(BuildConfig(corpus=corpus.root, workers=1, preset="fake2"), progress=False)
    hook.load_settings.cache_clear()


def test_default_path_never_imports_the_filter_stage(reddit, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "rdial.filter.comment_rules", None)  # import would fail
    monkeypatch.setitem(sys.modules, "rdial.filter.presets", None)
    corpus = reddit.corpus(months(reddit))
    run_build(BuildConfig(corpus=corpus.root, workers=1), progress=False)
    assert reddit.ids(corpus) == [["a", "b", "c", "d", "e", "f", "g"]]
    with pytest.raises(Exception, match="^--preset: the filter stage"):
        run_build(BuildConfig(corpus=corpus.root, workers=1, preset="dialogpt"), progress=False)


def test_real_dialogpt_preset_when_the_filter_stage_has_it(reddit):
    presets = pytest.importorskip("rdial.filter.presets")
    pytest.importorskip("rdial.filter.comment_rules")
    settings = presets.load_filter_settings("dialogpt")
    c = reddit.comment
    corpus = reddit.corpus({"RC_2005-12.zst": [
        c("a", "t3_s", "a fine opener"), c("b", "t1_a", "&gt; quoted you"),
        c("d", "t1_b", "a reply here"), c("e", "t1_d", "and an answer")]})
    report = run_build(BuildConfig(corpus=corpus.root, workers=1, preset="dialogpt"), progress=False)
    config = json.loads((corpus.root / "config" / "build.json").read_text())
    for name, value in settings.build_defaults.items():
        assert config[name] == value
    if "quote" in settings.comment_rules:
        assert report.totals["unusable"]["quote"] == 1
        assert reddit.ids(corpus) == [["d", "e"]]
