import pytest

from rdial.errors import ConfigError
from rdial.filter.presets import load_filter_settings


def test_dialogpt_build_defaults_match_the_makefile():
    s = load_filter_settings("dialogpt")
    assert s.build_defaults == {"targets": "leaves", "min_turns": 2, "max_turns": 5,
                                "per_month": True, "with_title": False}
    assert (s.min_score, s.max_turns, s.max_turn_words, s.max_total_words) == (1, 5, 30, 200)
    assert s.comment_rules == ["deleted", "quote", "no_submission", "few_comments", "short_comment"]


def test_presets_inherit():
    paper, rdial = load_filter_settings("paper"), load_filter_settings("rdial")
    assert paper.sources == ["preset:dialogpt", "preset:paper"]
    assert paper.max_turn_words == 30 and paper.markup_chars == "[]"
    assert "bland" in paper.rules and "duplicate" not in paper.rules
    assert set(paper.rules) < set(rdial.rules)
    assert load_filter_settings(None).preset == "rdial"


def test_toml_overrides_thresholds_rules_and_lists(tmp_path):
    (tmp_path / "words.txt").write_text("# mine\nBadWord\nvery bad phrase\n")
    cfg = tmp_path / "f.toml"
    cfg.write_text('base = "paper"\n[chains]\ndisable = ["bland", "url"]\nenable = ["shouting"]\n'
                   'max_total_words = 150\nbland_fraction = 0.5\n'
                   '[lists]\nword_files = ["words.txt"]\nwords = ["extra"]\n'
                   '[build]\nmax_turns = 7\n')
    s = load_filter_settings(None, cfg)
    assert s.preset == "paper"
    assert s.rules == ["bad_subreddit", "long_target", "too_few_turns", "empty_target", "repetition",
                       "no_common_word", "markup", "too_long", "offensive_target", "shouting"]
    assert (s.max_total_words, s.bland_fraction) == (150, 0.5)
    assert s.offensive_words() == ["badword", "very bad phrase", "extra"]
    assert s.build_defaults["max_turns"] == 7 and s.build_defaults["targets"] == "leaves"
    assert s.sources == ["preset:dialogpt", "preset:paper", str(cfg)]


@pytest.mark.parametrize("text,message", [
    ("[chains]\nmax_totl_words = 3\n", "max_totl_words: unknown setting"),
    ("[chains]\nrules = [\"nope\"]\n", "unknown rule 'nope'"),
    ("[chains]\nmax_total_words = \"many\"\n", "max_total_words: expected int"),
    ("[chains]\nurl_scope = \"some\"\n", "url_scope: 'some' is not one of"),
    ("[chains]\nrepetition_run = 1\n", "repetition_run: must be at least 2"),
    ("[lists]\nword_files = [\"missing.txt\"]\n", "cannot read list file"),
    ("base = \"paper\"\n", "has base = 'paper' but --preset is 'dialogpt'"),
    ("[chains\n", "not valid TOML"),
])
def test_bad_toml_names_the_key(tmp_path, text, message):
    cfg = tmp_path / "f.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_filter_settings("dialogpt", cfg)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="--preset: unknown preset 'gpt'"):
        load_filter_settings("gpt")
