"""Comment rules: judge single comments before chains are formed (called by `rdial build`).

    python -c "import polars as pl; from rdial.filter.comment_rules import comment_rule_reasons; \
from rdial.filter.presets import load_filter_settings as l; \
print(comment_rule_reasons(pl.DataFrame({'body': ['[deleted]', '&gt; no', 'one', 'two words'], \
'link_id': ['t3_a'] * 4, 'source': ['RC_2005-12.zst'] * 4}), None, l('dialogpt')))"
    # -> ["deleted", "quote", "short_comment", null]

DialoGPT's extractor drops these comments while reading a month's RC file, so a dropped
comment's parent can become a leaf and its replies start a new context:
  deleted        body is "[deleted]" (exactly; a null body counts too)
  quote          body contains ">" or "&gt;"
  no_submission  the thread's submission is not in the same month's RS data (month taken from
                 the `source` file names, e.g. RC_2005-12 / RS_2005-12; ids alone when a name
                 has no YYYY-MM)
  few_comments   no RS record of the submission has num_comments >= min_submission_comments
  short_comment  fewer than min_comment_words words (backslashes removed, whitespace split)
The two submission rules need RS data: with `submissions=None` they pass every comment (the
corpus has no RS files to judge by).
"""

from __future__ import annotations

import polars as pl

from rdial.filter.normalize import minimal_word_count_expr
from rdial.filter.presets import FilterSettings
from rdial.schema import source_month

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


def comment_rule_reasons(comments: pl.DataFrame, submissions: pl.DataFrame | None,
                         settings: FilterSettings) -> pl.Series:
    """One reason per comment row (Utf8): the first comment rule that drops it, or null."""
    body = pl.col("body")
    drops = {
        "deleted": body.is_null() | (body == "[deleted]"),
        "quote": body.str.contains(">", literal=True) | body.str.contains("&gt;", literal=True),
        "short_comment": minimal_word_count_expr(body) < settings.min_comment_words,
    }
    frame = comments.select("body")
    needs_rs = {"no_submission", "few_comments"} & set(settings.comment_rules)
    if needs_rs and submissions is not None:
        status = submission_status(comments, submissions, settings.min_submission_comments)
        frame = frame.with_columns(status)
        drops["no_submission"] = ~pl.col("_present")
        drops["few_comments"] = ~pl.col("_enough")
    rules = [r for r in settings.comment_rules if r in drops]
    reason = pl.coalesce([pl.when(drops[r]).then(pl.lit(r)) for r in rules] + [pl.lit(None, pl.String)])
    return frame.select(reason.alias("reason")).to_series()
