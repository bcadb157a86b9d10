import dataclasses

import polars as pl
import pytest

from rdial.rules import CHAIN_RULES, ChainRules, ReferenceRules, load_settings
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, random_chains


def frame(rows):
    return pl.from_arrow(chains_table(rows))

OK = "what do you think about the new game"


def reasons(preset, rows, **overrides):
    s = dataclasses.replace(load_settings(preset), **overrides)
    return ChainRules(s).apply(frame(rows))["reason"].to_list()


# (preset, rule) -> (a chain it drops, a chain that passes it, differing only in that)
DIALOGPT = {
    "bad_subreddit": (chain(OK, "i like it a lot", sub="BadPlace"), chain(OK, "i like it a lot", sub="GoodPlace")),
    "low_score": (chain(OK, "i like it a lot", scores=[5, 0]), chain(OK, "i like it a lot", scores=[0, 1])),
    "long_target": (chain(OK, " ".join(["word"] * 31)), chain(OK, " ".join(["word", "other"] * 15))),
    "too_few_turns": (chain(" ".join(["long"] * 31), "i like it a lot"), chain(" ".join(["long"] * 30), "i like it a lot")),
    "empty_target": (chain(OK, "### ~~~"), chain(OK, "## ~~~ ok")),
    "long_word": (chain(OK, "a" * 31 + " yes"), chain(OK, "a" * 30 + " yes")),
    "url": (chain("see http://x.com please", "i like it a lot"), chain("see x please", "i like it a lot")),
    "markup": (chain("i like (this) one", "i like it a lot"), chain("i like this one", "i like it a lot")),
    "shouting": (chain("i LIKE THIS", "it is GREAT"), chain("i LIKE THIS", "it is GREA t")),
    "repetition": (chain(OK, "no no no way"), chain(OK, "no no way no")),
}


@pytest.mark.parametrize("rule", list(DIALOGPT))
def test_dialogpt_rule_drops_and_passes(rule):
    drop, keep = DIALOGPT[rule]
    extra = {"subreddits_block": ["badplace"]} if rule == "bad_subreddit" else {}
    assert reasons("dialogpt", [drop, keep], **extra) == [rule, None]


def test_too_long_counts_dialogpt_line_tokens():
    turns = [" ".join(["the"] + [f"w{i}x{j}" for j in range(29)]) for i in range(5)]
    # 5 turns x 30 words = 150 words + 5 weights + 4 EOS = 159 <= 200: kept
    assert reasons("dialogpt", [chain(*turns)]) == [None]
    # lower the limit: 159 > 158 drops, 159 <= 159 keeps: weights and EOS are counted
    assert reasons("dialogpt", [chain(*turns)], max_total_words=158) == ["too_long"]
    assert reasons("dialogpt", [chain(*turns)], max_total_words=159) == [None]
    # the paper counts words only: 150
    assert reasons("paper", [chain(*turns)], max_total_words=150) == [None]
    assert reasons("paper", [chain(*turns)], max_total_words=149) == ["too_long"]


def test_long_ancestor_cuts_context_and_max_turns_keeps_the_last_five():
    long = " ".join(["long"] * 31)
    rows = [chain("a one", long, "b two", "c three", "d four"),
            chain("t1 x", "t2 x", "t3 x", "t4 x", "t5 x", "t6 x", "t7 x")]
    out = ChainRules(load_settings("dialogpt")).apply(frame(rows))
    assert out["turn_texts"].to_list() == [["b two", "c three", "d four"],
                                           ["t3 x", "t4 x", "t5 x", "t6 x", "t7 x"]]
    assert out["turn_ids"].to_list() == [["c2", "c3", "c4"], ["c2", "c3", "c4", "c5", "c6"]]
    assert out["reason"].to_list() == [None, None]


def test_offensive_turn_gets_weight_zero_and_paper_drops_offensive_target(tmp_path):
    rows = [chain("what the fuck is this", "it is the new game"),
            chain("what is this", "it is the fucking game"),
            chain("what is this thing", "it is the new game")]
    # DialoGPT's released word list is empty: by default every turn keeps weight 1.0
    out = ChainRules(load_settings("dialogpt")).apply(frame(rows))
    assert load_settings("dialogpt").offensive_words() == []
    assert out["turn_weights"].to_list() == [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    # asked for, rdial's list gives weight 0.0, and DialoGPT still keeps the chain
    toml = tmp_path / "words.toml"
    toml.write_text('[lists]\nword_files = ["builtin:offensive_words.txt"]\n')
    asked = load_settings("dialogpt", toml)
    out = ChainRules(asked).apply(frame(rows))
    assert out["turn_weights"].to_list() == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert out["reason"].to_list() == [None, None, None]       # DialoGPT keeps, weight 0
    assert [ReferenceRules(asked).judge(r)[3] for r in rows] == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert "fuck" in load_settings("paper").offensive_words()
    assert load_settings("paper").offensive_words() == load_settings("rdial").offensive_words()
    assert reasons("paper", rows) == [None, "offensive_target", None]
    # whole words only: "Scunthorpe" and "shitake" are not blocked words
    assert reasons("paper", [chain(OK, "i am from Scunthorpe and like shitake")]) == [None]


def test_paper_rules():
    rows = [chain(OK, "xyzzy plugh frobnicate"),           # no common word
            chain(OK, "the [link] is here"),              # [ ] in the target
            chain("look (here) at the", "the thing is here"),  # ( ) allowed in paper
            chain(OK, "the game is ok ok ok")]
    assert reasons("paper", rows) == ["no_common_word", "markup", None, "repetition"]


def test_rdial_rules():
    rows = [chain(OK, "the game is fun", authors=["u1", "AutoModerator"]),
            chain(OK, "the game is fun", over_18=True),
            chain(OK, "the game is fun", over_18=None),
            chain(OK, "the game is fun", sub="pics")]
    assert reasons("rdial", rows) == ["bot_author", "nsfw", None, None]
    assert reasons("rdial", rows, subreddits_allow=["askreddit"]) == \
        ["bot_author", "nsfw", None, "subreddit_not_allowed"]


def test_first_failing_rule_in_preset_order_is_the_reason():
    row = chain("see http://x.com", "THE [GAME] no no no", scores=[1, 0])
    assert reasons("dialogpt", [row]) == ["low_score"]
    assert reasons("dialogpt", [row], min_score=0) == ["url"]
    assert reasons("paper", [row]) == ["url"]


@pytest.mark.parametrize("preset,overrides", [
    ("dialogpt", {}), ("paper", {}), ("rdial", {}),
    ("rdial", {"normalize": "none", "url_scope": "target", "markup_scope": "all",
               "max_turns": 0, "max_turn_words": 0, "rules": ["shouting", "long_word", "too_long",
                                                             "url", "markup", "repetition"]}),
])
def test_vectorised_rules_equal_per_instance_reference(preset, overrides):
    table = random_chains(3000, seed=11)
    s = dataclasses.replace(load_settings(preset), **overrides)
    out = ChainRules(s).apply(pl.from_arrow(table))
    ref = ReferenceRules(s)
    expected = [ref.judge(row) for row in table.to_pylist()]
    assert out["reason"].to_list() == [e[0] for e in expected]
    assert out["norm_texts"].to_list() == [e[2] for e in expected]
    assert out["turn_weights"].to_list() == [e[3] for e in expected]
    assert out["reason"].null_count() not in (0, len(table))  # both outcomes occur


@pytest.mark.parametrize("rule", [r.name for r in CHAIN_RULES.values() if not r.corpus_wide])
def test_each_rule_alone_expression_equals_reference(rule):
    import pyarrow as pa

    # random chains, plus targets that normalise to nothing ("#tag", "\\")
    table = pa.concat_tables([random_chains(800, seed=7),
                              chains_table([chain("is it", "#tag"), chain("a b", "\\ #x")])])
    s = dataclasses.replace(load_settings("rdial"), rules=[rule], min_score=5, max_total_words=60,
                            subreddits_block=["funny"], subreddits_allow=["pics", "funny"],
                            bot_authors=[f"user{i}" for i in range(60)])
    out = ChainRules(s).apply(pl.from_arrow(table))["reason"].to_list()
    ref = ReferenceRules(s)
    assert out == [ref.judge(row)[0] for row in table.to_pylist()]
    assert out.count(rule) > 0  # the rule fires on some chains


def test_every_rule_is_one_object_with_expression_and_reference():
    from rdial.rules import CHAIN_RULES, COMMENT_RULES
    from rdial.rules.settings import key_types

    for rule in list(CHAIN_RULES.values()) + list(COMMENT_RULES.values()):
        assert all(k in key_types() for k in rule.settings), rule.name
        if getattr(rule, "corpus_wide", False):
            assert rule.expr is None and rule.reference is None  # run by rdial filter's passes
        else:
            assert callable(rule.expr) and callable(rule.reference), rule.name
    assert [r for r in CHAIN_RULES if CHAIN_RULES[r].corpus_wide] == ["duplicate", "bland"]


def test_no_stage_imports_a_later_one():
    """rules is shared; build must not import filter (nor train), extract neither."""
    import subprocess
    import sys

    code = ("import sys, rdial.build.stage, rdial.build.cli, rdial.rules.listing; "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('rdial.') "
            "and m.count('.') >= 1}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)
    assert "filter" not in loaded and "train" not in loaded and "build" in loaded and "rules" in loaded


@pytest.mark.parametrize("max_turns, max_turn_words", [(0, 0), (3, 0), (0, 12), (4, 9)])
def test_recut_rebuilds_the_cut_from_its_turn_count(max_turns, max_turn_words):
    """The filter's cache keeps only how many turns the cut kept (verdicts.py): recut on the
    uncut chain and that count gives cut()'s lists, value for value."""
    s = dataclasses.replace(load_settings("rdial"), max_turns=max_turns, max_turn_words=max_turn_words)
    df = pl.from_arrow(random_chains(600, seed=7))
    cut = ChainRules(s).cut(df)
    turns = cut["turn_texts"].list.len().cast(pl.UInt32).alias("_turns")
    shortened = int((turns < df["turn_texts"].list.len()).sum())
    assert (shortened == 0) == (max_turns == 0 and max_turn_words == 0)
    again = ChainRules.recut(df.with_columns(turns)).drop("_turns")
    assert again.equals(cut.select(again.columns))
