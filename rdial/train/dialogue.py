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
