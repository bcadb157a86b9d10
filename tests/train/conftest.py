"""Fixtures of the train tests: the offline GPT-2 tokenizer and small generated shard sets."""

import pytest

from tests.train.sample import write_sample_shards
from rdial.train.tokenizer import load_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer("gpt2-offline")


@pytest.fixture(scope="session")
def small_shards(tmp_path_factory):
    """120 train dialogues in 2 files of 25-row groups (5 row groups), 40 valid, 40 test."""
    return write_sample_shards(tmp_path_factory.mktemp("shards"), train=120, valid=40, test=40,
                               files=2, rows_per_group=25, seed=1)


@pytest.fixture(scope="session")
def learn_shards(tmp_path_factory):
    return write_sample_shards(tmp_path_factory.mktemp("learn"), train=1500, valid=100, test=100,
                               files=2, rows_per_group=250, seed=2)


@pytest.fixture(scope="session")
def six_steps(small_shards, tmp_path_factory):
    """An uninterrupted 6-step tiny run with 2 lanes (grad-accum 2), dropout on, windows of 20 rows;
    checkpoints at steps 3 and 6. Returns (run directory, TrainSummary)."""
    from rdial.train.trainer import TrainConfig, train

    run = tmp_path_factory.mktemp("run") / "straight"
    summary = train(TrainConfig(shards=small_shards, out=run, model="tiny", max_steps=6, batch_tokens=256,
                                max_seq_len=64, lr=3e-3, warmup_steps=2, shuffle_rows=20, eval_every=0,
                                eval_dialogues=20, save_every=3, log_every=1, progress=False, grad_accum=2,
                                device="cpu"))  # the CPU reference of exact comparisons, GPU or not
    return run, summary
