"""Chain rules on whole columns: each rule is a boolean polars expression, "this chain drops".

    python -c "import polars as pl; from rdial.filter.rules import ChainRules; \
from rdial.filter.presets import load_filter_settings as l; \
print(ChainRules(l('dialogpt')).apply(pl.read_parquet('corpus/chains/bucket=00017.parquet')))"

`ChainRules(settings).apply(chains)` takes a CHAINS frame and returns it with:
  - the structural cut (DialoGPT's get_convo): the last `max_turns` turns, then the context cut
    after the last ancestor longer than `max_turn_words` words (a long target drops the chain),
  - `turn_texts` normalised (or the originals, with output_text = "original"),
  - `turn_weights`: 1.0, or 0.0 for a turn containing a blocked word (DialoGPT's --leaves_only
    weights; turn 0 carries its weight too, though a trainer gives turn 0 no loss),
  - `reason`: the first enabled local rule that drops the chain, in preset order; null = kept,
  - `norm_texts`: the normalised turns, used by the corpus-wide rules (duplicate, bland).

No Python runs per chain: turns are processed with `list.eval` over all turns of all chains at
once, and targets (the last turn) as plain string columns.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from rdial.filter.normalize import (URL, collapse_spaces, dialogpt_normalize_series,
                                    minimal_word_count_expr, normalize_lists)
from rdial.filter.presets import FilterSettings

LIST_COLUMNS = ("turn_ids", "turn_authors", "turn_texts", "turn_scores", "turn_created")
E = pl.element()


def words_alternation(words: list[str]) -> str:
    """A regex matching any of `words` as whole words (flashtext's boundary: not [A-Za-z0-9_])."""
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?i)(?:^|[^A-Za-z0-9_])(?:{body})(?:[^A-Za-z0-9_]|$)"


def repeated_runs(tokens: pl.Series, run: int) -> pl.Series:
    """Per list: does it hold `run` identical consecutive tokens? (one pass over all tokens)

    Shifting inside `list.eval` runs per list; comparing the flat token column with itself
    shifted, then masking positions too close to their list's start, is one vectorised pass.
    """
    lengths = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = tokens.explode(empty_as_null=False, keep_nulls=False)
    same = np.ones(len(flat), dtype=bool)
    for k in range(1, run):
        same &= (flat == flat.shift(k)).fill_null(False).to_numpy()
    starts = np.repeat(offsets[:-1], np.diff(offsets))
    same &= (np.arange(len(flat)) - starts) >= run - 1
    cum = np.concatenate([[0], np.cumsum(same)])
    return pl.Series((cum[offsets[1:]] - cum[offsets[:-1]]) > 0)


class ChainRules:
    def __init__(self, settings: FilterSettings, discard=None):
        self.s = settings
        self.discard = discard  # DialoGPT's discard digests: frame -> frame (discard_keys.py)
        self.offensive = settings.offensive_words()
        self.blocked = sorted(settings.blocked_subreddits())
        self.allowed = sorted(settings.allowed_subreddits())
        self.bots = sorted(settings.bots())
        self.common = settings.common_words()

    # --- structure ------------------------------------------------------------------------
    def cut(self, df: pl.DataFrame) -> pl.DataFrame:
        """Keep the last max_turns turns; cut the context after the last over-long ancestor."""
        s = self.s
        if s.max_turns:
            df = df.with_columns(pl.col(c).list.tail(s.max_turns) for c in LIST_COLUMNS)
        if not s.max_turn_words:
            return df.with_columns(pl.lit(False).alias("_long_target"))
        long = pl.col("turn_texts").list.eval(minimal_word_count_expr(E) > s.max_turn_words)
        df = df.with_columns(long.alias("_long"), pl.col("turn_texts").list.len().alias("_n"))
        ancestors = pl.col("_long").list.head(pl.col("_n") - 1)
        start = (pl.when(ancestors.list.any())
                 .then(pl.col("_n") - 1 - ancestors.list.reverse().list.arg_max())
                 .otherwise(0))
        df = df.with_columns(start.alias("_start"), pl.col("_long").list.last().fill_null(False)
                             .alias("_long_target"))
        return (df.with_columns(pl.col(c).list.slice(pl.col("_start")) for c in LIST_COLUMNS)
                .drop("_long", "_n", "_start"))

    # --- per-turn columns -----------------------------------------------------------------
    def annotate(self, df: pl.DataFrame) -> pl.DataFrame:
        fn = dialogpt_normalize_series if self.s.normalize == "dialogpt" else collapse_spaces
        df = df.with_columns(normalize_lists(df["turn_texts"], fn).alias("norm_texts"))
        blocked = words_alternation(self.offensive) if self.offensive else r"[^\s\S]"  # none
        offensive = pl.col("norm_texts").list.eval(E.str.contains(blocked))
        weights = offensive.list.eval(pl.when(E).then(0.0).otherwise(1.0).cast(pl.Float32))
        nwords = pl.col("norm_texts").list.eval(
            (E.str.count_matches(" ") + (E != "").cast(pl.UInt32)).cast(pl.Int64))
        df = df.with_columns(
            weights.alias("turn_weights"),
            nwords.alias("_nwords"),
            pl.col("norm_texts").list.last().fill_null("").alias("_tgt"),
        )
        if self.discard is not None:  # listed turns weigh 0.0 before the rules count weights
            df = self.discard(df)
        tokens = df.select(self._target_tokens()).to_series()
        return df.with_columns(repeated_runs(tokens, self.s.repetition_run).alias("_repeats"))

    # --- the rules ------------------------------------------------------------------------
    def _any_turn(self, pattern: str, literal: bool = False) -> pl.Expr:
        return pl.col("norm_texts").list.eval(E.str.contains(pattern, literal=literal)).list.any()

    def _scoped(self, pattern: str, scope: str, literal: bool = False) -> pl.Expr:
        if scope == "target":
            return pl.col("_tgt").str.contains(pattern, literal=literal)
        return self._any_turn(pattern, literal)

    def _target_tokens(self) -> pl.Expr:
        if not (self.s.count_weight_tokens and self.s.tsv_weights):
            return pl.col("_tgt").str.split(" ")
        weight = pl.when(pl.col("turn_weights").list.last() == 0).then(pl.lit("0.0")).otherwise(pl.lit("1.0"))
        return pl.concat_str([weight, pl.col("_tgt")], separator=" ").str.strip_chars(" ").str.split(" ")

    def expressions(self) -> dict[str, pl.Expr]:
        s = self.s
        subreddit = pl.col("subreddit").str.to_lowercase()
        n = pl.col("turn_texts").list.len()
        total = pl.col("_nwords").list.sum()
        if s.count_weight_tokens:  # DialoGPT's line: a weight per turn and an EOS between turns
            total = total + (n if s.tsv_weights else 0) + (n - 1)
        # DialoGPT drops a target line of <= 1 token: with weights, an empty target; without
        # (its test recipe), a one-token target too
        empty = (pl.col("_tgt") == "") if s.tsv_weights or not s.count_weight_tokens else \
            (pl.col("_nwords").list.last().fill_null(0) <= 1)
        url = URL if s.normalize == "dialogpt" else f"(?i)http|{URL}"
        markup = "[" + "".join(re.escape(c) for c in s.markup_chars) + "]"
        return {
            "bad_subreddit": subreddit.is_in(self.blocked) if self.blocked else pl.lit(False),
            "subreddit_not_allowed": ~subreddit.is_in(self.allowed) if self.allowed else pl.lit(False),
            "nsfw": pl.col("over_18").fill_null(False),
            "bot_author": (pl.col("turn_authors").list.eval(E.str.to_lowercase().is_in(self.bots))
                           .list.any() if self.bots else pl.lit(False)),
            "low_score": pl.col("turn_scores").list.last().fill_null(0) < s.min_score,
            "long_target": pl.col("_long_target"),
            "too_few_turns": n < s.min_turns,
            "empty_target": empty,
            "long_word": pl.col("_tgt").str.contains(rf"[^ ]{{{s.max_word_chars + 1},}}"),
            "too_long": total > s.max_total_words,
            "url": self._scoped(url, s.url_scope, literal=s.normalize == "dialogpt"),
            "markup": self._scoped(markup, s.markup_scope) if s.markup_chars else pl.lit(False),
            "shouting": self._any_turn(rf"[A-Z]{{{s.shouting_caps},}}"),
            "repetition": pl.col("_repeats"),
            "no_common_word": (~pl.col("_tgt").str.to_lowercase().str.contains(
                r"(?:^| )(?:" + "|".join(re.escape(w) for w in self.common) + r")(?: |$)")
                if self.common else pl.lit(False)),
            "offensive_target": pl.col("turn_weights").list.last() == 0,
        }

    def apply(self, chains: pl.DataFrame) -> pl.DataFrame:
        """CHAINS frame -> the same chains, cut and annotated, with `reason` (null = kept)."""
        df = self.annotate(self.cut(chains))
        exprs = self.expressions()
        reason = pl.coalesce([pl.when(exprs[name]).then(pl.lit(name))
                              for name in self.s.local_rules()] + [pl.lit(None, pl.String)])
        df = df.with_columns(reason.alias("reason"))
        if self.s.output_text == "normalized":
            df = df.with_columns(pl.col("norm_texts").alias("turn_texts"))
        return df.drop("_nwords", "_long_target", "_repeats")
