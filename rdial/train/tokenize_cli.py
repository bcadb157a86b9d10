"""Tokenise the shards once, ahead of training (what the first `rdial train` does otherwise).

    rdial tokenize --shards corpus/shards                  # -> corpus/tokens/<key>/
    rdial tokenize --shards corpus/shards --tokenizer path/to/DialoGPT-medium
    rdial tokenize --shards /ro/shards --token-cache /scratch/tokens   # a read-only corpus

Prints the cache directory on stdout (a script can `du -sh` or `rm -r` it), its size and
token counts on stderr. A cache already built for these shards and this tokenizer is left as it
is; a killed build is finished by the next `rdial tokenize` or `rdial train`. Why a command of
its own rather than a step of `rdial filter`: the tokenizer is a training choice (a corpus may
be trained with GPT-2's and another vocabulary), and a multi-GPU job should not spend its
first hour tokenizing, so the cache can be built on a CPU machine beforehand. Exit status: 0
ok; 2 no shards, an unreadable shard, or no room for the cache; 130 interrupted (rerun to finish).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import add_config_arguments, arg, config_from_args
from rdial.train.tokenizer import OFFLINE

HELP = "tokenize the shards once into a memory-mapped token cache that `rdial train` reads"


@dataclass(kw_only=True)
class TokenizeConfig:
    shards: Path = field(metadata=arg("shard directory with train/ valid/ test/ part-*.parquet (CORPUS/shards)"))
    tokenizer: str = field(default=OFFLINE, metadata=arg(
        f"{OFFLINE} (GPT-2's BPE), a tokenizer directory or a hub name: the one `rdial train` will use"))
    token_cache: Path | None = field(default=None, metadata=arg(
        "directory of token caches (default: tokens/ beside the shard directory, CORPUS/tokens)"))
    progress: bool = field(default=True, metadata=arg("progress line on a terminal"))

    def __post_init__(self):
        self.shards = Path(self.shards)
        self.token_cache = None if self.token_cache is None else Path(self.token_cache)


def add_arguments(parser) -> None:
    add_config_arguments(parser, TokenizeConfig)


def run(args) -> int:
    from rdial.progress import Progress
    from rdial.train.loader import shard_units, split_files
    from rdial.train.token_cache import SPLITS, ensure_cache, human_size
    from rdial.train.tokenizer import load_tokenizer

    cfg = config_from_args(TokenizeConfig, args)
    shard_units(split_files(cfg.shards, "train"))  # a missing split or a bad schema: one line, exit 2
    tokenizer = load_tokenizer(cfg.tokenizer)
    cache = ensure_cache(cfg.shards, tokenizer, root=cfg.token_cache, progress=cfg.progress,
                         say=lambda m: Progress.message(f"rdial tokenize: {m}"))
    m = cache.manifest
    splits = ", ".join(f"{s} {m['splits'][s]['rows']:,} rows / {m['splits'][s]['tokens']:,} tokens"
                       for s in SPLITS)
    Progress.message(f"rdial tokenize: {cache.directory}: {splits}; {human_size(m['bytes'])} "
                     f"({m['ids_dtype']} ids)")
    print(cache.directory)
    sys.stdout.flush()
    return 0
