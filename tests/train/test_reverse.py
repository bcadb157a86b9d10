"""rdial train --reverse: the target first, then the context newest to oldest; loss on the context."""

from rdial.train.dialogue import IGNORE, encode_reverse_dialogue


def test_order_and_labels():
    ex, reason = encode_reverse_dialogue([[1, 2], [3], [4, 5, 6]], [0.0, 1.0, 1.0], eos_id=9, max_seq_len=32)
    assert reason is None
    assert ex.ids == [4, 5, 6, 9, 3, 9, 1, 2, 9]
    assert ex.labels == [IGNORE] * 4 + [3, 9, 1, 2, 9]


def test_long_dialogues_keep_the_target_and_the_newest_context():
    ex, _ = encode_reverse_dialogue([[1, 2, 3], [4, 5], [6]], [0.0, 1.0, 1.0], eos_id=9, max_seq_len=6)
    assert ex.ids == [6, 9, 4, 5, 9, 1]
    assert ex.labels == [IGNORE, IGNORE, 4, 5, 9, 1]


def test_dropped_rows_name_their_reason():
    assert encode_reverse_dialogue([[1]], [1.0], eos_id=9, max_seq_len=8) == (None, "one_turn")
    assert encode_reverse_dialogue([[1], [2]], [1.0, 0.0], eos_id=9, max_seq_len=8) == (None, "no_target")
    assert encode_reverse_dialogue([[1], [2] * 7], [0.0, 1.0], eos_id=9, max_seq_len=8) == (None, "too_long")
    assert encode_reverse_dialogue([[1], [2]], [1.0], eos_id=9, max_seq_len=8) == (None, "bad_weights")


def test_reverse_run_trains_and_records_the_flag(small_shards, tmp_path):
    import json

    from rdial.train.trainer import TrainConfig, train

    run = tmp_path / "rev"
    summary = train(TrainConfig(shards=small_shards, out=run, model="tiny", max_steps=2, batch_tokens=256,
                                max_seq_len=64, lr=3e-3, warmup_steps=1, eval_every=0, eval_dialogues=10,
                                save_every=0, log_every=1, progress=False, device="cpu", reverse=True))
    assert summary.steps == 2 and summary.test_ppl is not None
    assert json.loads((run / "config.json").read_text())["reverse"] is True
