"""Token-budget batches: length bucketing (no attention mask needed) or packed fixed-shape rows.

    python -c "from rdial.train.batching import bucket_batches as b; print(b([3, 9, 4, 8], 16))"
    # [[0, 2], [3], [1]]   (indices, shortest first; rows x longest <= 16)

Examples of one shuffle window are sorted by length and cut greedily into batches whose padded
size (rows x longest row) stays within `batch_tokens`; the batches are then shuffled. With
windows of thousands of dialogues neighbours differ by a token or two, so padding stays near 1%.

Rows are padded on the right. A causal model never attends forward, so real tokens never see
the padding: no attention mask is passed, and SDPA can take its fused causal kernel. Padded
positions carry label -100.

Packed (--pack): dialogues side by side in rows of --seq-len tokens, every batch the same
[batch_tokens // seq_len, seq_len] shape (one torch.compile graph); `doc_ids` keep each token's
attention inside its dialogue and `position_ids` restart at 0 (GPT-2's learned positions).
"""

from __future__ import annotations

import bisect
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
    # Packed batches only (None when rows are single dialogues, see pack_batches):
    position_ids: torch.Tensor | None = None  # [rows, seq_len] int64, 0 at each dialogue's first token
    doc_ids: torch.Tensor | None = None       # [rows, seq_len] int64, the dialogue's number in its row

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


def pack_rows(lengths: list[int], seq_len: int) -> list[list[int]]:
    """Indices of `lengths` packed into rows of at most `seq_len` tokens (best fit, longest first).

    Each dialogue goes into the open row with the least room that still holds it, else a new
    row: with thousands of 10-250-token dialogues per window the rows end up ~99% full."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable").tolist()
    rows: list[list[int]] = []
    room: list[tuple[int, int]] = []  # (tokens left, row) sorted: bisect finds the best fit
    for i in order:
        n = lengths[i]
        at = bisect.bisect_left(room, (n, -1))
        if at == len(room):
            rows.append([i])
            left, row = seq_len - n, len(rows) - 1
        else:
            left, row = room.pop(at)
            rows[row].append(i)
            left -= n
        if left > 0:
            bisect.insort(room, (left, row))
    return rows


def collate_packed(rows: list[list[Example]], n_rows: int, seq_len: int, pad_id: int) -> Batch:
    """A fixed [n_rows, seq_len] batch: dialogues side by side, positions restarting at each.

    Shape (two dialogues a, b in a row, then padding p):
        ids      a a a a b b b p p
        pos      0 1 2 3 0 1 2 0 0
        doc      0 0 0 0 1 1 1 2 2     (padding is its own document: it attends only to itself)
        labels   - - a a - b b - -     (a dialogue's first token is always context: label -100,
                                        so the shift never asks a dialogue to predict the next one)
    Rows past len(rows) are all padding (the window's last batch keeps the fixed shape)."""
    ids = np.full((n_rows, seq_len), pad_id, dtype=np.int64)
    labels = np.full((n_rows, seq_len), IGNORE, dtype=np.int64)
    pos = np.zeros((n_rows, seq_len), dtype=np.int64)
    doc = np.zeros((n_rows, seq_len), dtype=np.int64)
    flat = [e for examples in rows for e in examples]
    if flat:  # every dialogue's tokens in one copy: the flat index of each in the batch
        per_row = np.array([len(examples) for examples in rows], dtype=np.int64)
        lengths = np.array([len(e) for e in flat], dtype=np.int64)
        row_of = np.repeat(np.arange(len(rows)), per_row)
        first = np.repeat(_exclusive_cumsum(per_row), per_row)          # the row's first dialogue
        starts = _exclusive_cumsum(lengths)
        at = starts - starts[first]                                     # start inside its row
        where = _ranges(row_of * seq_len + at, lengths)
        flat_labels = np.concatenate([np.asarray(e.labels, dtype=np.int64) for e in flat])
        assert (flat_labels[starts] == IGNORE).all(), "a dialogue's first token carries loss"
        doc[:len(rows)] = per_row[:, None]                              # padding: a document of its own
        ids.flat[where] = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in flat])
        labels.flat[where] = flat_labels
        pos.flat[where] = _ranges(np.zeros(len(flat), dtype=np.int64), lengths)
        doc.flat[where] = np.repeat(np.arange(len(flat)) - first, lengths)
    tokens = sum(len(e) for e in flat)
    return Batch(input_ids=torch.from_numpy(ids), labels=torch.from_numpy(labels), tokens=tokens,
                 loss_tokens=int((labels[:, 1:] != IGNORE).sum()),
                 position_ids=torch.from_numpy(pos), doc_ids=torch.from_numpy(doc))


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    np.cumsum(values[:-1], out=out[1:])
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)]), without the loop."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) + np.repeat(starts - _exclusive_cumsum(lengths), lengths)


def pack_batches(examples: list[Example], batch_tokens: int, seq_len: int, pad_id: int,
                 rng: np.random.Generator) -> list[Batch]:
    """Pack a shuffled window into rows, shuffle the rows, and cut batches of
    batch_tokens // seq_len rows (deterministic by rng)."""
    examples = [examples[i] for i in rng.permutation(len(examples))]
    rows = pack_rows([len(e) for e in examples], seq_len)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    per = batch_tokens // seq_len
    return [collate_packed([[examples[i] for i in row] for row in rows[at:at + per]], per, seq_len, pad_id)
            for at in range(0, len(rows), per)]


def window_batches(examples: list[Example], batch_tokens: int, pad_id: int,
                   rng: np.random.Generator, *, pack_len: int = 0) -> list[Batch]:
    """Shuffle, bucket by length, collate, and shuffle the batch order (deterministic by rng);
    with pack_len, packed rows of pack_len tokens instead (pack_batches)."""
    if pack_len:
        return pack_batches(examples, batch_tokens, pack_len, pad_id, rng)
    examples = [examples[i] for i in rng.permutation(len(examples))]
    groups = bucket_batches([len(e) for e in examples], batch_tokens)
    return [collate([examples[i] for i in groups[g]], pad_id) for g in rng.permutation(len(groups))]
