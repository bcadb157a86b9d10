from rdial.train.dialogue import IGNORE as X
from rdial.train.dialogue import encode_dialogue

EOS = 50256


def encode(turns, weights, max_seq_len=64):
    return encode_dialogue(turns, weights, eos_id=EOS, max_seq_len=max_seq_len)


def test_two_turns_real_tokens(tokenizer):
    turns = tokenizer.encode_turns(["Hello world", "hi there"])
    assert turns == [[15496, 995], [5303, 612]]
    example, reason = encode(turns, [0.0, 1.0])
    assert reason is None
    assert example.ids == [15496, 995, EOS, 5303, 612, EOS]
    assert example.labels == [X, X, X, 5303, 612, EOS]


def test_three_turns_with_a_weight_zero_middle_turn():
    example, _ = encode([[1, 2], [3, 4, 5], [6]], [0.0, 0.0, 1.0])
    assert example.ids == [1, 2, EOS, 3, 4, 5, EOS, 6, EOS]
    assert example.labels == [X, X, X, X, X, X, X, 6, EOS]


def test_three_turns_all_weighted():
    example, _ = encode([[1], [2, 3], [4]], [0.0, 1.0, 1.0])
    assert example.ids == [1, EOS, 2, 3, EOS, 4, EOS]
    assert example.labels == [X, X, 2, 3, EOS, 4, EOS]


def test_long_dialogue_keeps_newest_turns_and_first_kept_turn_is_context():
    # 4+1, 2+1, 1+1 tokens: 10 > 6, so turn 0 goes and turn 1 becomes context
    example, _ = encode([[1, 2, 3, 4], [5, 6], [7]], [0.0, 1.0, 1.0], max_seq_len=6)
    assert example.ids == [5, 6, EOS, 7, EOS]
    assert example.labels == [X, X, X, 7, EOS]


def test_context_turn_is_cut_from_the_left_when_two_turns_do_not_fit():
    example, _ = encode([[1, 2, 3, 4], [5, 6]], [0.0, 1.0], max_seq_len=5)
    assert example.ids == [4, EOS, 5, 6, EOS]
    assert example.labels == [X, X, 5, 6, EOS]


def test_dropped_dialogues_return_their_reason():
    assert encode([[1] * 10, [2] * 10], [0.0, 1.0], max_seq_len=11) == (None, "too_long")
    assert encode([[1], [2]], [0.0, 0.0]) == (None, "no_target")
    assert encode([[1]], [0.0]) == (None, "one_turn")
    assert encode([[1], [2]], [0.0]) == (None, "bad_weights")
    assert encode([[1], [2]], None) == (None, "bad_weights")
