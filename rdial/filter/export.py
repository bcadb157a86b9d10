"""Shards -> DialoGPT's training TSV, or JSON lines for anything else.

    python -c "from rdial.filter.export import export; import sys; \
export('corpus', fmt='dialogpt-tsv', split='train', out=sys.stdout.buffer)"

dialogpt-tsv: one line per chain, what DialoGPT's prepro.py reads (after its Makefile's
`cut -f 2-3` of the extractor output): the source turns joined by " EOS ", a tab, the target,
each turn prefixed by its weight:
    0.0 a EOS 1.0 b<TAB>1.0 c
Weights print as Python floats ("1.0", "0.0"). prepro.py gives no loss to the first turn and to
weight-0 turns, and skips a weight-0 target.

What the format uses as separators cannot appear inside a turn, so a comment cannot forge one:
- tabs and line breaks (\t \n \r, and \v \f \x1c-\x1e \x85 U+2028 U+2029, which
  str.splitlines also breaks on) become spaces: a line stays one instance of two fields;
- the word EOS (what prepro.py splits turns on, ' EOS ') becomes "eos": "what do you think EOS
  forged" stays one turn. DialoGPT's own extractor lowercased every text, so it never met one.
Both are counted per turn (ExportStats, printed by `rdial export`).

jsonl: one JSON object per chain with every shard column (link_id, subreddit, turn_ids,
turn_authors, turn_texts, turn_scores, turn_created, over_18, turn_weights). JSON escapes tabs
and line breaks inside strings: nothing is altered; turns holding them are counted all the same.
Shards are read in order (split, then file), one file at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import RdialError

FORMATS = ("dialogpt-tsv", "jsonl")
LINE_BREAKS = r"[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
EOS_WORD = r"(^| )EOS( |$)"  # prepro.py: srcs.split(' EOS '); the weight and the joiner add the spaces


@dataclass
class ExportStats:
    chains: int = 0
    turns_line_breaks: int = 0  # turns holding a tab or line break (TSV: now spaces; JSON: escaped)
    turns_eos: int = 0  # TSV: turns where the word EOS became "eos"

    def add(self, other: "ExportStats") -> None:
        self.chains += other.chains
        self.turns_line_breaks += other.turns_line_breaks
        self.turns_eos += other.turns_eos

    def summary(self, fmt: str) -> str:
        if fmt == "dialogpt-tsv":
            return (f"{self.chains} chains; separators inside turns made plain: "
                    f"{self.turns_line_breaks} turns with tabs or line breaks, {self.turns_eos} with EOS")
        return f"{self.chains} chains; {self.turns_line_breaks} turns with tabs or line breaks (escaped)"


def separator_counts(shard: pl.DataFrame) -> ExportStats:
    """How many turns of `shard` hold what the TSV uses as separators."""
    texts = shard.select(pl.col("turn_texts").explode().fill_null(""))
    counts = texts.select(pl.col("turn_texts").str.contains(LINE_BREAKS).sum().alias("breaks"),
                          pl.col("turn_texts").str.replace_all(LINE_BREAKS, " ")
                          .str.contains(EOS_WORD).sum().alias("eos")).row(0)
    return ExportStats(shard.height, int(counts[0] or 0), int(counts[1] or 0))


def plain_text(text: pl.Expr) -> pl.Expr:
    """A turn's text with no TSV separator left in it (see the module docstring)."""
    text = text.str.replace_all(LINE_BREAKS, " ")
    # twice: in "EOS EOS" the first match takes the space the second one needs
    return text.str.replace_all(EOS_WORD, "${1}eos${2}").str.replace_all(EOS_WORD, "${1}eos${2}")


def shard_files(corpus: Corpus, splits: list[str]) -> list[Path]:
    if not corpus.shards_dir.exists():
        raise RdialError(f"{corpus.shards_dir}: no shards; run `rdial filter {corpus.root}` first")
    return [p for s in splits for p in sorted((corpus.shards_dir / s).glob("part-*.parquet"))]


def tsv_lines(shard: pl.DataFrame, weights: bool = True) -> pl.Series:
    """One DialoGPT TSV line per chain (no trailing newline); `weights=False` (a corpus filtered
    with tsv_weights = false, DialoGPT's test recipe): the turns without their weights."""
    turns = (shard.select("turn_texts", "turn_weights").with_row_index("_chain")
             .explode("turn_texts", "turn_weights")
             .with_columns(pl.int_range(pl.len()).over("_chain").alias("_pos"),
                           pl.len().over("_chain").alias("_n")))
    weight = pl.col("turn_weights").cast(pl.Float64).round(6).cast(pl.String)
    text = plain_text(pl.col("turn_texts").fill_null(""))
    turns = turns.with_columns((pl.concat_str([weight, text], separator=" ") if weights else text)
                               .alias("_turn"))
    joined = turns.group_by("_chain", maintain_order=True).agg(
        pl.col("_turn").filter(pl.col("_pos") < pl.col("_n") - 1).str.join(" EOS ").alias("src"),
        pl.col("_turn").last().alias("tgt"))
    return joined.select(pl.concat_str(["src", "tgt"], separator="\t")).to_series()


def tsv_weights(corpus: Corpus) -> bool:
    """The filter settings' tsv_weights (shards/config.json); True when not recorded."""
    path = corpus.shards_dir / "config.json"
    if not path.is_file():
        return True
    return bool(json.loads(path.read_text()).get("settings", {}).get("tsv_weights", True))


def export(corpus_root: Path, *, fmt: str, split: str | None, out: BinaryIO) -> ExportStats:
    """Write the shards of `split` (all splits when None) to `out`; returns what was written."""
    if fmt not in FORMATS:
        raise RdialError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    corpus = Corpus.open(Path(corpus_root))
    splits = [split] if split else list(schema.SPLITS)
    stats = ExportStats()
    weights = tsv_weights(corpus)
    for path in shard_files(corpus, splits):
        shard = pl.read_parquet(path)
        if shard.is_empty():
            continue
        if fmt == "dialogpt-tsv":
            out.write(("\n".join(tsv_lines(shard, weights).to_list()) + "\n").encode("utf-8"))
        else:
            shard.write_ndjson(out)
        stats.add(separator_counts(shard))
    return stats
