"""Token-budget batches with length bucketing: little padding, and no attention mask needed.

    python -c "from rdial.train.batching import bucket_batches as b; print(b([3, 9, 4, 8], 16))"
    # [[0, 2], [3], [1]]   (indices, shortest first; rows x longest <= 16)

Examples of one shuffle window are sorted by length and cut greedily into batches whose padded
size (rows x longest row) stays within `batch_tokens`; the batches are then shuffled. With
windows of thousands of dialogues neighbours differ by a token or two, so padding stays near 1%.

Rows are padded on the right. A causal model never attends forward, so real tokens never see
the padding: no attention mask is passed, and SDPA can take its fused causal kernel. Padded
positions carry label -100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rdial.train.dialogue import IGNORE, Example


@dataclass
class Batch:
    input_ids: torch.Tensor   # [rows, longest] int64, right-padded with pad_id
    labels: torch.Tensor      # [rows, longest] int64, -100 on context, weight-0 turns and padding
    tokens: int               # real (non-padding) tokens
    loss_tokens: int          # labels that carry loss (after the model's shift)

    @property
    def padded(self) -> int:
        return self.input_ids.numel()


def bucket_batches(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Indices of `lengths` grouped shortest first so that rows x longest <= batch_tokens."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order.tolist():
        # sorted ascending, so the newest row is the longest of its batch
        if current and (len(current) + 1) * lengths[i] > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def collate(examples: list[Example], pad_id: int) -> Batch:
    longest = max(len(e) for e in examples)
    ids = np.full((len(examples), longest), pad_id, dtype=np.int64)
    labels = np.full((len(examples), longest), IGNORE, dtype=np.int64)
    for row, e in enumerate(examples):
        ids[row, :len(e)] = e.ids
        labels[row, :len(e)] = e.labels
    return Batch(input_ids=torch.from_numpy(ids), labels=torch.from_numpy(labels),
                 tokens=sum(len(e) for e in examples),
                 loss_tokens=int((labels[:, 1:] != IGNORE).sum()))


def window_batches(examples: list[Example], batch_tokens: int, pad_id: int,
                   rng: np.random.Generator) -> list[Batch]:
    """Shuffle, bucket by length, collate, and shuffle the batch order (deterministic by rng)."""
    examples = [examples[i] for i in rng.permutation(len(examples))]
    groups = bucket_batches([len(e) for e in examples], batch_tokens)
    return [collate([examples[i] for i in groups[g]], pad_id) for g in rng.permutation(len(groups))]
