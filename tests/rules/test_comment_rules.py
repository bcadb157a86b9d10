import polars as pl

from rdial.rules import comment_rule_reasons
from rdial.rules import load_settings


def comments(bodies, links, source="RC_2005-12.zst"):
    return pl.DataFrame({"id": [f"c{i}" for i in range(len(bodies))], "body": bodies,
                         "link_id": links, "source": [source] * len(bodies)})


def test_dialogpt_comment_rules_in_order():
    c = comments(["[deleted]", "&gt; you said", "> you said", "one", "  \\ one ", "two words",
                  None, "[removed]", "two words", "two words"],
                 ["t3_a"] * 9 + ["t3_c"])
    subs = pl.DataFrame({"id": ["a", "a", "c"], "num_comments": [1, 5, 1],
                         "source": ["RS_2005-12.zst", "RS_2005-12.zst", "RS_2005-12.zst"]})
    got = comment_rule_reasons(c, subs, load_settings("dialogpt")).to_list()
    # "a" has one RS record with num_comments >= 2 (DialoGPT keeps a thread if any record does)
    assert got == ["deleted", "quote", "quote", "short_comment", "short_comment", None,
                   "deleted", "short_comment", None, "few_comments"]


def test_submission_must_be_in_the_same_month():
    c = pl.concat([comments(["two words"], ["t3_a"], "RC_2005-12.zst"),
                   comments(["two words"], ["t3_a"], "RC_2006-01.zst"),
                   comments(["two words"], ["t3_b"], "RC_2006-01.zst")])
    subs = pl.DataFrame({"id": ["a"], "num_comments": [9], "source": ["RS_2005-12.zst"]})
    s = load_settings("dialogpt")
    assert comment_rule_reasons(c, subs, s).to_list() == [None, "no_submission", "no_submission"]
    # without RS data the submission rules cannot judge: they pass every comment
    assert comment_rule_reasons(c, None, s).to_list() == [None, None, None]


def test_paper_has_no_submission_rules():
    c = comments(["two words", "x"], ["t3_zz", "t3_zz"])
    subs = pl.DataFrame({"id": ["a"], "num_comments": [9], "source": ["RS_2005-12.zst"]})
    assert comment_rule_reasons(c, subs, load_settings("paper")).to_list() == [None, "short_comment"]
