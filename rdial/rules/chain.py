"""Chain rules: each one object (name, polars expression, reference function), run by `rdial filter`.

    python -c "import polars as pl; from rdial.rules import ChainRules, load_settings; \
print(ChainRules(load_settings('dialogpt')).apply(pl.read_parquet('corpus/chains/bucket=00017.parquet')))"

Adding a rule is one `ChainRule(...)` entry in RULES: its name (the `reason` of the chains it
drops, counted per split in filter's stats), what it tests, the polars expression (True = drop)
over the annotated columns below, the same test on one chain in plain Python (DialoGPT's
per-instance way, the oracle the tests hold the expression to), and the settings it reads.
`duplicate` and `bland` need the whole corpus: they are marked `corpus_wide`, and rdial filter
runs them after every other rule (rdial/filter/duplicates.py, blandness.py).

`ChainRules(settings).apply(chains)` takes a CHAINS frame and returns it with:
  - the structural cut (DialoGPT's get_convo): the last `max_turns` turns, then the context cut
    after the last ancestor longer than `max_turn_words` words (a long target drops the chain),
  - `turn_texts` normalised (or the originals, with output_text = "original"),
  - `turn_weights`: 1.0, or 0.0 for a turn containing a blocked word (DialoGPT's --leaves_only
    weights; turn 0 carries its weight too, though a trainer gives turn 0 no loss),
  - `reason`: the first enabled local rule that drops the chain, in preset order; null = kept,
  - `norm_texts`: the normalised turns, used by the corpus-wide rules.
Columns the expressions see: `norm_texts`, `turn_weights`, `_nwords` (words per turn), `_tgt`
(the normalised target), `_long_target`, `_repeats`, and the CHAINS columns. No Python runs per
chain: turns are processed with `list.eval` over all turns of all chains at once.
`ReferenceRules(settings).judge(chain_dict)` gives the same answer for one chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import polars as pl

from rdial.rules.normalize import (URL, collapse_spaces, dialogpt_normalize,
                                   dialogpt_normalize_series, minimal_word_count,
                                   minimal_word_count_expr, normalize_lists)
from rdial.rules.settings import RuleSettings

LIST_COLUMNS = ("turn_ids", "turn_authors", "turn_texts", "turn_scores", "turn_created")
E = pl.element()
_BOUNDARY = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass
class Instance:
    """One chain as the reference functions see it (after the cut)."""

    chain: dict          # the CHAINS row
    keep: list[int]      # indices of the turns kept
    norm: list[str]      # their normalised texts
    weights: list[float]
    long_target: bool

    @property
    def target(self) -> str:
        return self.norm[-1]


@dataclass(frozen=True)
class ChainRule:
    name: str
    description: str
    expr: Callable[["ChainRules"], pl.Expr] | None = None
    reference: Callable[["ReferenceRules", Instance], bool] | None = None
    settings: tuple[str, ...] = ()
    corpus_wide: bool = False


def words_alternation(words: list[str]) -> str:
    """A regex matching any of `words` as whole words (flashtext's boundary: not [A-Za-z0-9_])."""
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return rf"(?i)(?:^|[^A-Za-z0-9_])(?:{body})(?:[^A-Za-z0-9_]|$)"


def _any_turn(pattern: str, literal: bool = False) -> pl.Expr:
    return pl.col("norm_texts").list.eval(E.str.contains(pattern, literal=literal)).list.any()


def _scoped(pattern: str, scope: str, literal: bool = False) -> pl.Expr:
    if scope == "target":
        return pl.col("_tgt").str.contains(pattern, literal=literal)
    return _any_turn(pattern, literal)


def _total_words(x: "ChainRules") -> pl.Expr:
    n = pl.col("turn_texts").list.len()
    total = pl.col("_nwords").list.sum()
    if x.s.count_weight_tokens:  # DialoGPT's line: a weight per turn and an EOS between turns
        total = total + (n if x.s.tsv_weights else 0) + (n - 1)
    return total


def _empty_expr(x: "ChainRules") -> pl.Expr:
    # DialoGPT drops a target line of <= 1 token: with weights, an empty target; without
    # (its test recipe), a one-token target too
    if x.s.tsv_weights or not x.s.count_weight_tokens:
        return pl.col("_tgt") == ""
    return pl.col("_nwords").list.last().fill_null(0) <= 1


def _empty_ref(r: "ReferenceRules", i: Instance) -> bool:
    if r.s.count_weight_tokens and not r.s.tsv_weights:
        return len(i.target.split()) <= 1
    return len(i.target.split()) == 0


def _url_expr(x: "ChainRules") -> pl.Expr:
    s = x.s
    url = URL if s.normalize == "dialogpt" else f"(?i)http|{URL}"
    return _scoped(url, s.url_scope, literal=s.normalize == "dialogpt")


def _url_ref(r: "ReferenceRules", i: Instance) -> bool:
    texts = i.norm if r.s.url_scope == "all" else i.norm[-1:]
    if r.s.normalize == "dialogpt":
        return any(URL in t for t in texts)
    return any(re.search(f"(?i)http|{URL}", t) for t in texts)


def _markup_expr(x: "ChainRules") -> pl.Expr:
    if not x.s.markup_chars:
        return pl.lit(False)
    return _scoped("[" + "".join(re.escape(c) for c in x.s.markup_chars) + "]", x.s.markup_scope)


def _markup_ref(r: "ReferenceRules", i: Instance) -> bool:
    texts = i.norm if r.s.markup_scope == "all" else i.norm[-1:]
    return bool(r.s.markup_chars) and any(r.markup.search(t) for t in texts)


def _repetition_ref(r: "ReferenceRules", i: Instance) -> bool:
    toks = r.lines(i)[1].split() if r.s.count_weight_tokens and r.s.tsv_weights \
        else i.target.split(" ")
    n = r.s.repetition_run
    return any(all(toks[j] == toks[j - k] for k in range(1, n)) for j in range(n - 1, len(toks)))


def _common_expr(x: "ChainRules") -> pl.Expr:
    if not x.common:
        return pl.lit(False)
    words = "|".join(re.escape(w) for w in x.common)
    return ~pl.col("_tgt").str.to_lowercase().str.contains(rf"(?:^| )(?:{words})(?: |$)")


def _low_score_ref(r: "ReferenceRules", i: Instance) -> bool:
    score = i.chain["turn_scores"][i.keep[-1]] if i.keep else None
    return (0 if score is None else score) < r.s.min_score


def _subreddit(c: dict) -> str:
    return (c["subreddit"] or "").lower()


RULES = [
    ChainRule("bad_subreddit", "subreddit in the block list",
              lambda x: (pl.col("subreddit").str.to_lowercase().is_in(x.blocked)
                         if x.blocked else pl.lit(False)),
              lambda r, i: _subreddit(i.chain) in r.blocked,
              ("subreddit_block_files", "subreddits_block")),
    ChainRule("subreddit_not_allowed", "an allow list is set and the subreddit is not on it",
              lambda x: (~pl.col("subreddit").str.to_lowercase().is_in(x.allowed)
                         if x.allowed else pl.lit(False)),
              lambda r, i: bool(r.allowed) and _subreddit(i.chain) not in r.allowed,
              ("subreddit_allow_files", "subreddits_allow")),
    ChainRule("nsfw", "the submission is over_18 (needs RS data)",
              lambda x: pl.col("over_18").fill_null(False),
              lambda r, i: bool(i.chain["over_18"])),
    ChainRule("bot_author", "a turn is written by a bot account",
              lambda x: (pl.col("turn_authors").list.eval(E.str.to_lowercase().is_in(x.bots))
                         .list.any() if x.bots else pl.lit(False)),
              lambda r, i: any((i.chain["turn_authors"][j] or "").lower() in r.bots for j in i.keep),
              ("bot_author_files", "bot_authors")),
    ChainRule("low_score", "target score below min_score (missing score = 0)",
              lambda x: pl.col("turn_scores").list.last().fill_null(0) < x.s.min_score,
              _low_score_ref, ("min_score",)),
    ChainRule("long_target", "target longer than max_turn_words words (a longer ancestor cuts "
              "the context)", lambda x: pl.col("_long_target"), lambda r, i: i.long_target,
              ("max_turn_words",)),
    ChainRule("too_few_turns", "fewer than min_turns turns left after cutting",
              lambda x: pl.col("turn_texts").list.len() < x.s.min_turns,
              lambda r, i: len(i.keep) < r.s.min_turns, ("min_turns", "max_turns")),
    ChainRule("empty_target", "target empty after normalisation (one token without TSV weights)",
              _empty_expr, _empty_ref, ("count_weight_tokens", "tsv_weights")),
    ChainRule("long_word", "a target token longer than max_word_chars characters",
              lambda x: pl.col("_tgt").str.contains(rf"[^ ]{{{x.s.max_word_chars + 1},}}"),
              lambda r, i: any(len(t) > r.s.max_word_chars for t in i.target.split()),
              ("max_word_chars",)),
    ChainRule("too_long", "source and target together over max_total_words tokens",
              lambda x: _total_words(x) > x.s.max_total_words,
              lambda r, i: sum(len(p.split()) for p in r.lines(i)) > r.s.max_total_words,
              ("max_total_words", "count_weight_tokens")),
    ChainRule("url", "a URL in a turn (url_scope all) or in the target (url_scope target)",
              _url_expr, _url_ref, ("url_scope",)),
    ChainRule("markup", "a markup_chars character in a turn or in the target (markup_scope)",
              _markup_expr, _markup_ref, ("markup_chars", "markup_scope")),
    ChainRule("shouting", "shouting_caps capitals in a row in a turn",
              lambda x: _any_turn(rf"[A-Z]{{{x.s.shouting_caps},}}"),
              lambda r, i: any(r.shouting.search(t) for t in i.norm), ("shouting_caps",)),
    ChainRule("repetition", "repetition_run identical consecutive target tokens",
              lambda x: pl.col("_repeats"), _repetition_ref, ("repetition_run",)),
    ChainRule("no_common_word", "target without any of the common words",
              _common_expr,
              lambda r, i: bool(r.common) and not any(t.lower() in r.common
                                                      for t in i.target.split()),
              ("common_word_files",)),
    ChainRule("offensive_target", "target contains a blocked word (offensive turns always get "
              "weight 0.0)", lambda x: pl.col("turn_weights").list.last() == 0,
              lambda r, i: i.weights[-1] == 0, ("word_files", "words")),
    ChainRule("duplicate", "the same dialogue (all turn texts) appeared earlier in the corpus",
              corpus_wide=True),
    ChainRule("bland", "bland_fraction of the target's trigrams are seen over bland_min_count "
              "times in the corpus", settings=("bland_fraction", "bland_min_count"),
              corpus_wide=True),
]
CHAIN_RULES: dict[str, ChainRule] = {r.name: r for r in RULES}
CORPUS_WIDE = tuple(r.name for r in RULES if r.corpus_wide)


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
    """The vectorised engine: every local rule of `settings` over a whole CHAINS frame."""

    def __init__(self, settings: RuleSettings, discard=None):
        self.s = settings
        self.discard = discard  # DialoGPT's discard digests: frame -> frame (filter/discard_keys.py)
        self.offensive = settings.offensive_words()
        self.blocked = sorted(settings.blocked_subreddits())
        self.allowed = sorted(settings.allowed_subreddits())
        self.bots = sorted(settings.bots())
        self.common = settings.common_words()

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

    @staticmethod
    def recut(df: pl.DataFrame, turns: str = "_turns") -> pl.DataFrame:
        """The cut again, from its result: `turns` (a column) is how many turns cut() kept.

        cut() keeps the last turns of a chain (max_turns, then after the last over-long
        ancestor), so the last `turns` of every list column are its lists, value for value."""
        return df.with_columns(pl.col(c).list.tail(pl.col(turns)) for c in LIST_COLUMNS)

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

    def _target_tokens(self) -> pl.Expr:
        if not (self.s.count_weight_tokens and self.s.tsv_weights):
            return pl.col("_tgt").str.split(" ")
        weight = pl.when(pl.col("turn_weights").list.last() == 0).then(pl.lit("0.0")).otherwise(pl.lit("1.0"))
        return pl.concat_str([weight, pl.col("_tgt")], separator=" ").str.strip_chars(" ").str.split(" ")

    def expressions(self) -> dict[str, pl.Expr]:
        """Rule name -> its expression, for the settings' local rules."""
        return {name: CHAIN_RULES[name].expr(self) for name in self.s.local_rules()}

    def apply(self, chains: pl.DataFrame) -> pl.DataFrame:
        """CHAINS frame -> the same chains, cut and annotated, with `reason` (null = kept)."""
        df = self.annotate(self.cut(chains))
        reason = pl.coalesce([pl.when(expr).then(pl.lit(name))
                              for name, expr in self.expressions().items()]
                             + [pl.lit(None, pl.String)])
        df = df.with_columns(reason.alias("reason"))
        if self.s.output_text == "normalized":
            df = df.with_columns(pl.col("norm_texts").alias("turn_texts"))
        return df.drop("_nwords", "_long_target", "_repeats")


class ReferenceRules:
    """The same local rules one chain at a time, in plain Python, as DialoGPT's extractor works
    (reddit.py's get_convo / filter_instance): the oracle of the tests and bench_filter's baseline."""

    def __init__(self, settings: RuleSettings):
        self.s = settings
        self.offensive = settings.offensive_words()
        self.blocked = settings.blocked_subreddits()
        self.allowed = settings.allowed_subreddits()
        self.bots = settings.bots()
        self.common = set(settings.common_words())
        self.shouting = re.compile(f"[A-Z]{{{settings.shouting_caps},}}")
        self.markup = re.compile("[" + "".join(re.escape(c) for c in settings.markup_chars) + "]")

    def is_offensive(self, text: str) -> bool:
        low = text.lower()
        for word in self.offensive:
            start = low.find(word)
            while start >= 0:
                end = start + len(word)
                if ((start == 0 or low[start - 1] not in _BOUNDARY)
                        and (end == len(low) or low[end] not in _BOUNDARY)):
                    return True
                start = low.find(word, start + 1)
        return False

    def cut(self, chain: dict) -> tuple[list[int], bool]:
        """Indices of the turns kept (DialoGPT's get_convo) and whether the target is too long."""
        keep = list(range(len(chain["turn_texts"])))
        if self.s.max_turns:
            keep = keep[-self.s.max_turns:]
        if not self.s.max_turn_words:
            return keep, False
        too_long = [minimal_word_count(chain["turn_texts"][i]) > self.s.max_turn_words for i in keep]
        start = 0
        for j in range(len(keep) - 1):  # ancestors only: the target's own length is a rule
            if too_long[j]:
                start = j + 1
        return keep[start:], too_long[-1]

    def lines(self, i: Instance) -> tuple[str, str]:
        """DialoGPT's src and tgt strings ("1.0 a EOS 1.0 b", "1.0 c")."""
        if not self.s.count_weight_tokens:
            return " ".join(i.norm[:-1]), i.norm[-1]
        if not self.s.tsv_weights:  # DialoGPT's test recipe: turns joined by EOS, no weights
            return " EOS ".join(i.norm[:-1]), i.norm[-1]
        turns = [("0.0" if x == 0 else "1.0") + " " + t for t, x in zip(i.norm, i.weights)]
        return " EOS ".join(turns[:-1]), turns[-1]

    def judge(self, chain: dict) -> tuple[str | None, list[int], list[str], list[float]]:
        """-> (reason or None, kept turn indices, normalised texts, weights)."""
        keep, long_target = self.cut(chain)
        texts = [chain["turn_texts"][i] for i in keep]
        if self.s.normalize == "dialogpt":
            norm = [dialogpt_normalize(t) for t in texts]
        else:
            norm = [" ".join(t.split()) for t in texts]
        weights = [0.0 if self.is_offensive(t) else 1.0 for t in norm]
        instance = Instance(chain, keep, norm, weights, long_target)
        for name in self.s.local_rules():
            if CHAIN_RULES[name].reference(self, instance):
                return name, keep, norm, weights
        return None, keep, norm, weights
