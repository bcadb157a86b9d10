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


def test_each_comment_rule_expression_matches_its_reference():
    """Every CommentRule's polars expression and plain-Python reference agree, comment by comment."""
    import random

    from rdial.rules.comment import COMMENT_RULES, comment_rule_reasons, reference_reason, submission_status

    rng = random.Random(3)
    pieces = ["word", "two words", "&gt;", ">", "\\\\", "[deleted]", " ", "x", "the end", "\\n"]
    bodies = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) for _ in range(400)]
    bodies[:3] = [None, "[deleted]", ""]
    links = [f"t3_{rng.choice('abcd')}" for _ in bodies]
    c = comments(bodies, links)
    subs = pl.DataFrame({"id": ["a", "b", "b"], "num_comments": [1, 0, 7],
                         "source": ["RS_2005-12.zst"] * 3})
    s = load_settings("dialogpt")
    assert s.comment_rules == list(COMMENT_RULES)  # every comment rule is exercised
    got = comment_rule_reasons(c, subs, s).to_list()
    status = submission_status(c, subs, s.min_submission_comments).to_dicts()
    want = [reference_reason({"body": b, **st}, s, True) for b, st in zip(bodies, status)]
    assert got == want
    assert set(got) == set(COMMENT_RULES) | {None}  # each rule fired at least once
