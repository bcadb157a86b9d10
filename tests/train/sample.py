"""Small SHARDS-schema corpora for the train tests and benchmarks (a test fixture: run from the repo root).

    python -c "from tests.train.sample import write_sample_shards; write_sample_shards('/tmp/shards', train=2000)"

Dialogues follow a learnable pattern ("what comes after 17?" -> "18 comes after 17.") with
2-4 turns and varied lengths, so a tiny model's loss visibly falls within a few dozen steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.schema import SHARDS
from rdial.train.dialogue import Example, encode_dialogue

WORDS = ("the cat dog sat on mat and ran far away today because it was very warm outside "
         "but later it rained so everyone went home early to read books").split()


def sample_dialogue(rng: np.random.Generator, index: int, filler_words: int = 24) -> dict:
    n = int(rng.integers(0, 1000))
    filler = " ".join(rng.choice(WORDS, size=int(rng.integers(0, filler_words))))
    turns = [f"what comes after {n}? {filler}".strip(), f"{n + 1} comes after {n}."]
    if rng.random() < 0.5:
        turns.append(f"and after {n + 1}?")
        turns.append(f"{n + 2} comes after {n + 1}.")
    k = len(turns)
    return {"link_id": f"t3_s{index // 3:x}", "subreddit": "sample", "turn_ids": [f"c{index:x}_{i}" for i in range(k)],
            "turn_authors": [f"user{i % 2}" for i in range(k)], "turn_texts": turns,
            "turn_scores": [1] * k, "turn_created": [1_500_000_000 + i for i in range(k)],
            "over_18": False, "turn_weights": [0.0] + [1.0] * (k - 1)}


def write_shard(path: Path, rows: list[dict], rows_per_group: int = 1000) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=SHARDS)
    pq.write_table(table, path, row_group_size=rows_per_group, compression="zstd")
    return path


def write_sample_shards(directory: Path, *, train: int = 2000, valid: int = 200, test: int = 200,
                        files: int = 2, rows_per_group: int = 500, seed: int = 0,
                        filler_words: int = 24) -> Path:
    """SHARDS/{train,valid,test}/part-NNNNN.parquet with the given dialogue counts."""
    directory = Path(directory)
    rng = np.random.default_rng(seed)
    index = 0
    for split, count in (("train", train), ("valid", valid), ("test", test)):
        rows = [sample_dialogue(rng, index + i, filler_words) for i in range(count)]
        index += count
        per_file = -(-count // files) if count else 0
        for f in range(files):
            chunk = rows[f * per_file:(f + 1) * per_file]
            if chunk or f == 0:
                write_shard(directory / split / f"part-{f:05d}.parquet", chunk, rows_per_group)
    return directory


def encoded_dialogues(n: int, seed: int, *, eos: int, max_turn_tokens: int,
                      max_seq_len: int = 40) -> list[Example]:
    """`n` encoded dialogues of 2-4 random-token turns (1..max_turn_tokens-1 tokens each);
    every third has a weight-0 middle turn (the packing and GPU-path tests)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        turns = [rng.integers(0, eos, rng.integers(1, max_turn_tokens)).tolist()
                 for _ in range(rng.integers(2, 5))]
        weights = [1.0] * len(turns)
        if k % 3 == 0 and len(turns) > 2:
            weights[1] = 0.0  # a weight-0 middle turn
        example, reason = encode_dialogue(turns, weights, eos_id=eos, max_seq_len=max_seq_len)
        assert reason is None, reason
        out.append(example)
    return out
