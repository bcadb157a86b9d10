"""rdial filter CORPUS: DialoGPT's heuristics on the built chains -> train/valid/test shards.

Examples:
  rdial filter corpus                          # preset rdial (paper + bots, duplicates, NSFW)
  rdial filter corpus --preset dialogpt        # DialoGPT's released extractor, rule for rule
  rdial filter corpus --preset paper --config filters.toml --keep-rejects
  rdial filter corpus --split-fractions 0.9 0.05 0.05 --shard-rows 50000

Presets (every dropped chain is counted under its rule's name):
  dialogpt  bad_subreddit low_score long_target too_few_turns empty_target long_word too_long
            url markup shouting repetition; DialoGPT's text normalisation; an offensive turn
            stays with weight 0.0. Use it with `rdial build --preset dialogpt` (comment rules
            and per-month threads, as DialoGPT's extractor).
  dialogpt-test  DialoGPT's test recipe (--leaves_only 0): every usable comment a target, no
            word list, no weights in the TSV. With `--dialogpt-keys` (on build; filter uses the
            same keys): DialoGPT's released keys, its exact corpus (docs/dialogpt.md).
  paper     bad_subreddit long_target too_few_turns empty_target url repetition no_common_word
            markup("[ ]" in the target) too_long offensive_target bland
  rdial     paper + subreddit_not_allowed nsfw bot_author duplicate
A TOML file (--config) changes any threshold, list or rule; see rdial/filter/presets.py and
docs/filter.md. Default lists (rdial/filter/data/README.md): a short offensive-word list, the 50
common words, known bot accounts, an empty subreddit block list.

Writes (in CORPUS):
  shards/{train,valid,test}/part-NNNNN.parquet   kept chains (schema rdial.schema.SHARDS):
                 the chain columns with normalised turn_texts and turn_weights (float32 1.0/0.0;
                 0.0 = a turn with a blocked word, kept as context without loss)
  stats/filter.json    chains in, out, dropped per reason, per split (also printed as a table)
  config/filter.json   the resolved config and filter settings
                 (shards/ holds nothing but Parquet files, so pq.read_table("corpus/shards"),
                 pl.read_parquet, duckdb and HF datasets open the folder whole)
  rejects/part-NNNNN.parquet    with --keep-rejects: dropped chains with `reason` and `split`
The split is a hash of link_id: a thread never straddles two splits, every run splits alike.
shards/ is replaced as a whole at the end: a killed run leaves the previous shards intact.
A rerun on the same chains with the same settings does nothing (the ledger in
CORPUS/_ledger/filter); after `rdial build` changed any bucket, the shards are recomputed as a
whole (blandness and duplicates are corpus-wide). --force recomputes them anyway.

Exit status: 0 done or up to date; 1 done but some bucket failed (named on stderr; its chains
are missing), or the corpus has no chains yet; 2 bad flags or bad TOML; 75 the corpus is in use
by another run; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from rdial.config import add_config_arguments, config_from_args

HELP = "chains -> DialoGPT-style filters -> train/valid/test Parquet shards"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rdial.filter.stage import FilterConfig

    add_config_arguments(parser, FilterConfig)


def run(args: argparse.Namespace) -> int:
    from rdial.filter.stage import FilterConfig, run_filter

    report = run_filter(config_from_args(FilterConfig, args))
    print(report.summary(), file=sys.stderr if report.exit_code else sys.stdout)
    return report.exit_code
