import numpy as np

from rdial.train.batching import bucket_batches, collate, window_batches
from rdial.train.dialogue import IGNORE as X
from rdial.train.dialogue import Example


def test_bucket_batches_respect_the_token_budget():
    assert bucket_batches([3, 9, 4, 8], 16) == [[0, 2], [3], [1]]
    assert bucket_batches([2, 2, 2, 2, 2], 6) == [[0, 1, 2], [3, 4]]


def test_collate_pads_right_and_counts():
    batch = collate([Example([1, 2, 3], [X, 2, 3]), Example([4, 5], [X, 5])], pad_id=0)
    assert batch.input_ids.tolist() == [[1, 2, 3], [4, 5, 0]]
    assert batch.labels.tolist() == [[X, 2, 3], [X, 5, X]]
    assert (batch.tokens, batch.padded, batch.loss_tokens) == (5, 6, 3)


def test_window_batches_cover_every_example_once_and_are_deterministic():
    examples = [Example(list(range(n)), [X] + list(range(1, n))) for n in (5, 3, 7, 3, 5, 6)]
    first = window_batches(examples, 12, -1, np.random.default_rng(7))
    again = window_batches(examples, 12, -1, np.random.default_rng(7))
    assert [b.input_ids.tolist() for b in first] == [b.input_ids.tolist() for b in again]
    assert sum(b.tokens for b in first) == 29
    rows = sorted(tuple(r[r != -1].tolist()) for b in first for r in b.input_ids)
    assert rows == sorted(tuple(e.ids) for e in examples)
    assert all(b.padded <= 12 for b in first)
