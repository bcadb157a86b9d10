"""Shards -> DialoGPT's training TSV, or JSON lines for anything else.

    python -c "from rdial.filter.export import export; import sys; \
export('corpus', fmt='dialogpt-tsv', split='train', out=sys.stdout.buffer)"

dialogpt-tsv: one line per chain, what DialoGPT's prepro.py reads (after its Makefile's
`cut -f 2-3` of the extractor output): the source turns joined by " EOS ", a tab, the target,
each turn prefixed by its weight:
    0.0 a EOS 1.0 b<TAB>1.0 c
Weights print as Python floats ("1.0", "0.0"). Tabs, newlines and carriage returns inside a text
(only possible with output_text = "original") become spaces, so a line stays one instance.
prepro.py gives no loss to the first turn and to weight-0 turns, and skips a weight-0 target.

jsonl: one JSON object per chain with every shard column (link_id, subreddit, turn_ids,
turn_authors, turn_texts, turn_scores, turn_created, over_18, turn_weights).
Shards are read in order (split, then file), one file at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import polars as pl

from rdial import schema
from rdial.corpus import Corpus
from rdial.errors import RdialError

FORMATS = ("dialogpt-tsv", "jsonl")


def shard_files(corpus: Corpus, splits: list[str]) -> list[Path]:
    if not corpus.shards_dir.exists():
        raise RdialError(f"{corpus.shards_dir}: no shards; run `rdial filter {corpus.root}` first")
    return [p for s in splits for p in sorted((corpus.shards_dir / s).glob("part-*.parquet"))]


def tsv_lines(shard: pl.DataFrame) -> pl.Series:
    """One DialoGPT TSV line per chain (no trailing newline)."""
    turns = (shard.select("turn_texts", "turn_weights").with_row_index("_chain")
             .explode("turn_texts", "turn_weights")
             .with_columns(pl.int_range(pl.len()).over("_chain").alias("_pos"),
                           pl.len().over("_chain").alias("_n")))
    weight = pl.col("turn_weights").cast(pl.Float64).round(6).cast(pl.String)
    text = pl.col("turn_texts").fill_null("").str.replace_all(r"[\t\n\r]", " ")
    turns = turns.with_columns(pl.concat_str([weight, text], separator=" ").alias("_turn"))
    joined = turns.group_by("_chain", maintain_order=True).agg(
        pl.col("_turn").filter(pl.col("_pos") < pl.col("_n") - 1).str.join(" EOS ").alias("src"),
        pl.col("_turn").last().alias("tgt"))
    return joined.select(pl.concat_str(["src", "tgt"], separator="\t")).to_series()


def export(corpus_root: Path, *, fmt: str, split: str | None, out: BinaryIO) -> int:
    """Write the shards of `split` (all splits when None) to `out`; returns the chain count."""
    if fmt not in FORMATS:
        raise RdialError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    corpus = Corpus.open(Path(corpus_root))
    splits = [split] if split else list(schema.SPLITS)
    n = 0
    for path in shard_files(corpus, splits):
        shard = pl.read_parquet(path)
        if shard.is_empty():
            continue
        if fmt == "dialogpt-tsv":
            out.write(("\n".join(tsv_lines(shard).to_list()) + "\n").encode("utf-8"))
        else:
            shard.write_ndjson(out)
        n += shard.height
    return n
