"""Comment rules: judge single comments before chains are formed (run by `rdial build`).

    python -c "import polars as pl; from rdial.rules import comment_rule_reasons, load_settings; \
print(comment_rule_reasons(pl.DataFrame({'body': ['[deleted]', '&gt; no', 'one', 'two words'], \
'link_id': ['t3_a'] * 4, 'source': ['RC_2005-12.zst'] * 4}), None, load_settings('dialogpt')))"
    # -> ["deleted", "quote", "short_comment", null]

DialoGPT's extractor drops these comments while reading a month's RC file, so a dropped
comment's parent can become a leaf and its replies start a new context. Each rule is one
`CommentRule` below: its name (the reason counted in build's stats under `unusable`), the polars
expression that is True where a comment drops, the same test on one comment in plain Python
(the reference the tests hold the expression to), and the settings it reads. The two submission
rules need RS data: with `submissions=None` they pass every comment (the corpus has no RS files
to judge by). Their columns `_present`/`_enough` come from `submission_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

from rdial.rules.normalize import minimal_word_count, minimal_word_count_expr
from rdial.rules.settings import RuleSettings
from rdial.schema import source_month


@dataclass(frozen=True)
class CommentRule:
    name: str
    description: str
    expr: Callable[[RuleSettings], pl.Expr]          # over COMMENTS columns (+ _present/_enough)
    reference: Callable[[RuleSettings, dict], bool]  # one comment row as a dict
    settings: tuple[str, ...] = ()                   # the RuleSettings keys it reads
    needs_submissions: bool = False


def _quote(body: str | None) -> bool:
    return body is not None and (">" in body or "&gt;" in body)


RULES = [
    CommentRule("deleted", "body is '[deleted]' (exactly; a null body too)",
                lambda s: pl.col("body").is_null() | (pl.col("body") == "[deleted]"),
                lambda s, c: c["body"] is None or c["body"] == "[deleted]"),
    CommentRule("quote", "body quotes ('>' or '&gt;')",
                lambda s: (pl.col("body").str.contains(">", literal=True)
                           | pl.col("body").str.contains("&gt;", literal=True)),
                lambda s, c: _quote(c["body"])),
    CommentRule("no_submission", "the thread's submission is not in that month's RS data",
                lambda s: ~pl.col("_present"), lambda s, c: not c["_present"],
                needs_submissions=True),
    CommentRule("few_comments", "no RS record of the submission has num_comments >= "
                "min_submission_comments", lambda s: ~pl.col("_enough"),
                lambda s, c: not c["_enough"], ("min_submission_comments",),
                needs_submissions=True),
    CommentRule("short_comment", "fewer than min_comment_words words (backslashes removed)",
                lambda s: minimal_word_count_expr(pl.col("body")) < s.min_comment_words,
                lambda s, c: minimal_word_count(c["body"] or "") < s.min_comment_words,
                ("min_comment_words",)),
]
COMMENT_RULES: dict[str, CommentRule] = {r.name: r for r in RULES}


def _month(source: pl.Expr) -> pl.Expr:
    return source_month(source).fill_null("*")  # names without a month match each other


def submission_status(comments: pl.DataFrame, submissions: pl.DataFrame,
                      min_comments: int) -> pl.DataFrame:
    """Per comment row: `_present` (an RS record in the same month) and `_enough` (num_comments)."""
    subs = (submissions.lazy()
            .select(pl.col("id").alias("_sid"), _month(pl.col("source")).alias("_month"),
                    (pl.col("num_comments").fill_null(-1) >= min_comments).alias("_enough"))
            .group_by("_sid", "_month").agg(pl.col("_enough").any(), pl.lit(True).alias("_present")))
    keys = comments.lazy().select(
        pl.col("link_id").str.replace(r"^t3_", "").alias("_sid"),
        _month(pl.col("source")).alias("_month")).with_row_index("_row")
    joined = keys.join(subs, on=["_sid", "_month"], how="left").sort("_row")
    return joined.select(pl.col("_present").fill_null(False),
                         pl.col("_enough").fill_null(False)).collect()


def active_rules(settings: RuleSettings, has_submissions: bool) -> list[CommentRule]:
    """The preset's comment rules, in order, that can judge with the data at hand."""
    rules = [COMMENT_RULES[n] for n in settings.comment_rules]
    return [r for r in rules if has_submissions or not r.needs_submissions]


def comment_rule_reasons(comments: pl.DataFrame, submissions: pl.DataFrame | None,
                         settings: RuleSettings) -> pl.Series:
    """One reason per comment row (Utf8): the first comment rule that drops it, or null."""
    rules = active_rules(settings, submissions is not None)
    frame = comments.select("body")
    if any(r.needs_submissions for r in rules):
        frame = frame.with_columns(
            submission_status(comments, submissions, settings.min_submission_comments))
    reason = pl.coalesce([pl.when(r.expr(settings)).then(pl.lit(r.name)) for r in rules]
                         + [pl.lit(None, pl.String)])
    return frame.select(reason.alias("reason")).to_series()


def reference_reason(comment: dict, settings: RuleSettings, has_submissions: bool) -> str | None:
    """The same decision for one comment (a dict with `body`, and `_present`/`_enough` when
    the preset has submission rules), in plain Python."""
    for rule in active_rules(settings, has_submissions):
        if rule.reference(settings, comment):
            return rule.name
    return None


def comment_signature(settings: RuleSettings) -> dict:
    """What decides which comments the build drops: the rules, in order, and the settings they
    read. Two presets with the same signature form the same chains from the same comments."""
    rules = [COMMENT_RULES[n] for n in settings.comment_rules]
    keys = sorted({k for r in rules for k in r.settings})
    return {"comment_rules": [r.name for r in rules],
            "comment_settings": {k: getattr(settings, k) for k in keys}}
