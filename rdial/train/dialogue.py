"""DialoGPT's training format: one dialogue -> token ids and loss labels.

    python -c "from rdial.train.dialogue import encode_dialogue as e; print(e([[1, 2], [3]], [0, 1], eos_id=9, max_seq_len=8))"
    # (Example(ids=[1, 2, 9, 3, 9], labels=[-100, -100, -100, 3, 9]), None)

Shape of one example (turns oldest first, each ended by <|endoftext|>):

    ids     t1 t1 t1 EOS  t2 t2 EOS  t3 t3 t3 EOS
    labels  -100 ...      t2 t2 EOS  t3 t3 t3 EOS      (Hugging Face convention: labels
                                                        line up with ids, the model shifts)

A turn's tokens and the EOS that ends it share the turn's label: the first kept turn is
context (nothing to answer) and a turn of weight 0 carries no loss; every other turn is a
target. A dialogue longer than `max_seq_len` keeps its newest turns whole; when not even the
last two fit, the context turn keeps only its newest tokens. Every dropped dialogue returns
its reason:
  too_long     the last turn alone (with its EOS) fills `max_seq_len`, leaving no context
  no_target    no turn after the first kept one carries loss
  one_turn     a single turn: nothing to answer
  bad_weights  turn_weights missing or of a different length than turn_texts
"""

from __future__ import annotations

from dataclasses import dataclass

IGNORE = -100
REASONS = ("too_long", "no_target", "one_turn", "bad_weights")


@dataclass(frozen=True)
class Example:
    ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def encode_dialogue(turns: list[list[int]], weights: list[float] | None, *, eos_id: int,
                    max_seq_len: int) -> tuple[Example | None, str | None]:
    """(Example, None) or (None, reason) for one dialogue given each turn's token ids."""
    if weights is None or len(weights) != len(turns):
        return None, "bad_weights"
    if len(turns) < 2:
        return None, "one_turn"
    first = _first_kept_turn(turns, max_seq_len)
    if first is None:
        return None, "too_long"
    if not any(w > 0 for w in weights[first + 1:]):
        return None, "no_target"
    ids: list[int] = []
    labels: list[int] = []
    for i in range(first, len(turns)):
        piece = turns[i] + [eos_id]
        ids += piece
        labels += piece if i > first and weights[i] > 0 else [IGNORE] * len(piece)
    if len(ids) > max_seq_len:  # only the context turn is cut; it carries no loss
        cut = len(ids) - max_seq_len
        ids, labels = ids[cut:], labels[cut:]
    return Example(ids=ids, labels=labels), None


def _first_kept_turn(turns: list[list[int]], max_seq_len: int) -> int | None:
    """Index of the oldest turn kept: newest turns that fit whole, at least two turns."""
    last = len(turns) - 1
    total = len(turns[last]) + 1
    if total >= max_seq_len:
        return None  # no room left for even one context token
    first = last - 1  # the context turn is always kept, cut from the left if it must be
    total += len(turns[first]) + 1
    while first > 0 and total + len(turns[first - 1]) + 1 <= max_seq_len:
        first -= 1
        total += len(turns[first]) + 1
    return first


def encode_reverse_dialogue(turns: list[list[int]], weights: list[float] | None, *, eos_id: int,
                            max_seq_len: int) -> tuple[Example | None, str | None]:
    """The reverse model's example (`rdial train --reverse`, DialoGPT's `prepro.py --reverse`):
    the last turn (the forward model's target) first, then the context turns newest to oldest,
    each ended by EOS; the loss is on every context turn, none on the target:

        ids     t3 t3 EOS  t2 t2 EOS  t1 t1 t1 EOS
        labels  -100 ...   t2 t2 EOS  t1 t1 t1 EOS

    This is P(source | target), the score MMI reranking needs, and the order puts the turn
    the target answers right after it. Too long: the newest context is kept (the sequence is
    cut at its end). Dropped: bad_weights, one_turn, no_target (the last turn has weight 0,
    so it was no target of the forward model either), too_long (the target alone fills it).
    """
    if weights is None or len(weights) != len(turns):
        return None, "bad_weights"
    if len(turns) < 2:
        return None, "one_turn"
    if not weights[-1] > 0:
        return None, "no_target"
    if len(turns[-1]) + 1 >= max_seq_len:
        return None, "too_long"
    ids: list[int] = []
    labels: list[int] = []
    for i, turn in enumerate(reversed(turns)):
        piece = turn + [eos_id]
        ids += piece
        labels += [IGNORE] * len(piece) if i == 0 else piece
        if len(ids) >= max_seq_len:
            break
    return Example(ids=ids[:max_seq_len], labels=labels[:max_seq_len]), None


def encode_block(block, *, eos_id: int, max_seq_len: int, reverse: bool = False):
    """encode_dialogue (or encode_reverse_dialogue) of every row of a cached RowBlock at once, in
    numpy: (examples of the rows that survive, in row order; reasons of the dropped rows, [rows]
    str or None). The same rules as the one-dialogue functions above, tested equal to them.

    Shape: each kept row becomes a run of segments (one per kept turn: the turn's ids then EOS),
    laid end to end in one flat token stream; an Example holds numpy views of its slice.
    """
    import numpy as np

    from rdial.train.token_cache import _exclusive_cumsum, ranges

    n = block.row_turns
    rows = len(n)
    turn_start = _exclusive_cumsum(n)                     # first turn of each row (block index)
    row_end = turn_start + n                               # one past its last turn
    piece = block.turn_len + 1                             # a turn and its EOS
    cum = np.concatenate([[0], np.cumsum(piece)]).astype(np.int64)
    cum_target = np.concatenate([[0], np.cumsum(block.target)]).astype(np.int64)
    multi = n >= 2
    last = np.where(multi, row_end - 1, 0)
    last_piece = np.where(multi, piece[last] if len(piece) else 0, 0)
    reason = np.full(rows, None, dtype=object)
    reason[~multi] = "one_turn"
    if reverse:
        first = turn_start
        reason[multi & ~np.where(multi, block.target[last] if len(piece) else False, False)] = "no_target"
        reason[multi & (last_piece >= max_seq_len) & (reason == None)] = "too_long"  # noqa: E711
    else:
        # the oldest kept turn: the first whose suffix (it to the last turn) fits, at most last - 1
        turn_row = np.repeat(np.arange(rows), n)
        over = cum[row_end[turn_row]] - cum[:-1] > max_seq_len
        first = turn_start + np.minimum(np.bincount(turn_row, weights=over, minlength=rows).astype(np.int64),
                                        np.maximum(n - 2, 0))
        reason[multi & (last_piece >= max_seq_len)] = "too_long"
        targets_after = cum_target[row_end] - cum_target[np.minimum(first + 1, row_end)]
        reason[multi & (targets_after == 0) & (reason == None)] = "no_target"  # noqa: E711
    reason[block.bad_weights] = "bad_weights"
    keep = np.flatnonzero(reason == None)  # noqa: E711
    if not len(keep):
        return [], reason
    # segments of each kept row, in output order: turns first..last (reverse: last..first)
    seg_count = row_end[keep] - first[keep]
    seg_row = np.repeat(keep, seg_count)
    step = ranges(np.zeros(len(keep), dtype=np.int64), seg_count)   # 0, 1, ... within a row
    seg_turn = (row_end[seg_row] - 1 - step) if reverse else (first[seg_row] + step)
    if reverse:  # the target (the first segment) is context, every other turn carries loss
        seg_loss = step > 0
    else:        # the first kept turn is context; a later turn carries loss if its weight > 0
        seg_loss = (step > 0) & block.target[seg_turn]
    seg_len = piece[seg_turn]
    token_seg = np.repeat(np.arange(len(seg_turn)), seg_len)
    offset = np.arange(len(token_seg)) - np.repeat(_exclusive_cumsum(seg_len), seg_len)
    turn_token_start = _exclusive_cumsum(block.turn_len)
    is_eos = offset == block.turn_len[seg_turn][token_seg]
    source = np.where(is_eos, 0, turn_token_start[seg_turn][token_seg] + offset)
    ids = np.where(is_eos, eos_id, block.ids[source] if len(block.ids) else 0).astype(np.int64)
    labels = np.where(seg_loss[token_seg], ids, IGNORE)
    # cut each example to max_seq_len: its newest tokens (forward), its first ones (reverse)
    full = np.bincount(np.repeat(np.arange(len(keep)), seg_count), weights=seg_len,
                       minlength=len(keep)).astype(np.int64)
    start = _exclusive_cumsum(full)
    cut = np.maximum(full - max_seq_len, 0)
    lo, hi = (start, start + full - cut) if reverse else (start + cut, start + full)
    return [Example(ids=ids[a:b], labels=labels[a:b]) for a, b in zip(lo.tolist(), hi.tolist())], reason
