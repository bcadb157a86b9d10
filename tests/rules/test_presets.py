"""Presets and TOML files -> RuleSettings: inheritance, overrides, and every value type-checked."""

import subprocess
import sys

import pytest

from rdial.cli import main
from rdial.errors import ConfigError
from rdial.rules import BuildDefaults, load_settings


def test_dialogpt_build_defaults_match_the_makefile():
    s = load_settings("dialogpt")
    assert s.build == BuildDefaults(targets="leaves", min_turns=2, max_turns=5, per_month=True,
                                    with_title=False)
    assert (s.min_score, s.max_turns, s.max_turn_words, s.max_total_words) == (1, 5, 30, 200)
    assert s.comment_rules == ["deleted", "quote", "no_submission", "few_comments", "short_comment"]


def test_presets_inherit():
    paper, rdial = load_settings("paper"), load_settings("rdial")
    assert paper.sources == ["preset:dialogpt", "preset:paper"]
    assert paper.max_turn_words == 30 and paper.markup_chars == "[]"
    assert "bland" in paper.rules and "duplicate" not in paper.rules
    assert set(paper.rules) < set(rdial.rules)
    assert load_settings(None).preset == "rdial"


def test_toml_overrides_thresholds_rules_and_lists(tmp_path):
    (tmp_path / "words.txt").write_text("# mine\nBadWord\nvery bad phrase\n")
    cfg = tmp_path / "f.toml"
    cfg.write_text('base = "paper"\n[chains]\ndisable = ["bland", "url"]\nenable = ["shouting"]\n'
                   'max_total_words = 150\nbland_fraction = 0.5\n'
                   '[lists]\nword_files = ["words.txt"]\nwords = ["extra"]\n'
                   '[build]\nmax_turns = 7\n')
    s = load_settings(None, cfg)
    assert s.preset == "paper"
    assert s.rules == ["bad_subreddit", "long_target", "too_few_turns", "empty_target", "repetition",
                       "no_common_word", "markup", "too_long", "offensive_target", "shouting"]
    assert (s.max_total_words, s.bland_fraction) == (150, 0.5)
    assert s.offensive_words() == ["badword", "very bad phrase", "extra"]
    assert s.build == BuildDefaults(max_turns=7, targets="leaves")  # 7 over paper's 5
    assert s.sources == ["preset:dialogpt", "preset:paper", str(cfg)]


@pytest.mark.parametrize("text,message", [
    ("[chains]\nmax_totl_words = 3\n", "max_totl_words: unknown setting"),
    ("[chains]\nrules = [\"nope\"]\n", "unknown rule 'nope'"),
    ("[chains]\nmax_total_words = \"many\"\n",
     "[chains] max_total_words: expected int >= 1, got str 'many'"),
    ("[chains]\nurl_scope = \"some\"\n", "url_scope: expected \"all\" or \"target\", got str 'some'"),
    ("[chains]\nrepetition_run = 1\n", "repetition_run: expected int >= 2, got int 1"),
    ("[chains]\nmax_turns = 1\nmin_turns = 3\n", "max_turns: must be 0 or >= min_turns \\(3\\)"),
    ("[build]\nmax_turn = 1\n", "[build] max_turn: unknown build setting"),
    ("[lists]\nenable = [\"url\"]\n", "[lists] enable: enable/disable belong in"),
    ("[lists]\nword_files = [\"missing.txt\"]\n", "cannot read list file"),
    ("base = \"paper\"\n", "has base = 'paper' but --preset is 'dialogpt'"),
    ("[chains\n", "not valid TOML"),
])
def test_bad_toml_names_the_key(tmp_path, text, message):
    cfg = tmp_path / "f.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings("dialogpt", cfg)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="--preset: unknown preset 'gpt'"):
        load_settings("gpt")


# Issue 14.9: each of these crashed with a traceback, or was accepted silently.
@pytest.mark.parametrize("text,message", [
    ("[lists]\nwords = [1, 2]\n", "[lists] words[0]: expected list of strings, got int 1"),
    ("[lists]\nword_files = [1]\n", "[lists] word_files[0]: expected list of strings, got int 1"),
    ("[lists]\nsubreddits_allow = [[\"a\"]]\n",
     "[lists] subreddits_allow[0]: expected list of strings, got list"),
    ("[build]\nmin_turns = \"x\"\n", "[build] min_turns: expected int >= 1, got str 'x'"),
    ("[chains]\nmin_turns = 2.5\n", "[chains] min_turns: expected int >= 1, got float 2.5"),
    ("[chains]\nmax_total_words = inf\n", "[chains] max_total_words: expected int >= 1, got float inf"),
    ("[chains]\nmin_score = 99999999999999999999\n",
     "[chains] min_score: expected int (64-bit), got int 99999999999999999999"),
    ("[build]\nper_month = \"yes\"\n", "[build] per_month: expected bool, got str 'yes'"),
    ("[chains]\nenable = \"shouting\"\n",
     "[chains] enable: expected list of strings, got str 'shouting'"),
    ("[chains]\nbland_fraction = 1.5\n", "bland_fraction: expected float > 0 <= 1, got float 1.5"),
    ("[chains]\ncount_weight_tokens = 1\n", "count_weight_tokens: expected bool, got int 1"),
    ("base = 3\n", "base: expected a preset name (string), got int 3"),
])
def test_wrong_types_name_the_key_and_the_type(tmp_path, text, message):
    cfg = tmp_path / "f.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(None, cfg)
    line = str(err.value)
    assert line.startswith(f"--config {cfg}: ") and "\n" not in line
    assert message in line, line


def test_wrong_type_on_the_command_line_is_one_line_exit_2(tmp_path, capsys):
    cfg = tmp_path / "f.toml"
    cfg.write_text("[lists]\nwords = [1, 2]\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "corpus.json").write_text('{"format": "rdial-corpus", "version": 1, "buckets": 1}')
    assert main(["filter", str(tmp_path / "c"), "--config", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rdial: error: --config {cfg}: [lists] words[0]: expected list of strings, "
                   f"got int 1 (see `rdial filter --list-settings`)"]


def test_int_accepted_for_a_float_and_values_kept(tmp_path):
    cfg = tmp_path / "f.toml"
    cfg.write_text("[chains]\nbland_fraction = 1\nmin_score = -5\n[build]\nper_month = true\n")
    s = load_settings("rdial", cfg)
    assert (s.bland_fraction, s.min_score, s.build.per_month) == (1.0, -5, True)


def test_list_settings_names_every_key_type_and_preset_value():
    out = subprocess.run([sys.executable, "-m", "rdial", "filter", "--list-settings"],
                         capture_output=True, text=True, check=True).stdout
    assert "  max_total_words: int >= 1  (rules: too_long)\n      every preset: 200\n" in out
    assert ("  word_files: list of strings  (rules: offensive_target)\n"
            "      dialogpt:      []\n"
            "      dialogpt-test: []\n"
            "      paper:         [\"builtin:offensive_words.txt\"]\n"
            "      rdial:         [\"builtin:offensive_words.txt\"]\n"
            "      raw:           []\n") in out
    assert "  per_month: bool\n      dialogpt:      true\n" in out
    assert "  short_comment          comment  fewer than min_comment_words words" in out
    from rdial.rules.settings import key_types
    for key in key_types():  # every key is listed
        assert f"\n  {key.split('.', 1)[-1]}: " in out, key
