"""Packed rows (--pack): fixed shapes, positions restarting per dialogue, attention kept inside
each dialogue, and the same loss as the dialogues one per row (issue 11)."""

import numpy as np
import pytest
import torch

from rdial.train import rundir
from rdial.train.batching import collate, collate_packed, pack_batches, pack_rows
from rdial.train.config import TrainConfig
from rdial.train.dialogue import IGNORE, Example
from rdial.train.model import CausalLMLoss, build_model, document_mask
from tests.train.sample import encoded_dialogues

EOS = 299


def test_pack_rows_best_fit_longest_first():
    # 5 opens row 0 (3 left), 4 opens row 1 (4 left), 3 fills row 0, 2 goes into row 1
    assert pack_rows([5, 3, 4, 2], 8) == [[0, 1], [2, 3]]
    assert pack_rows([8, 8, 1], 8) == [[0], [1], [2]]


def test_collate_packed_positions_documents_and_padding_rows():
    a = Example(ids=[1, 2, EOS, 3], labels=[IGNORE, IGNORE, IGNORE, 3])
    b = Example(ids=[4, EOS, 5], labels=[IGNORE, IGNORE, 5])
    batch = collate_packed([[a, b]], 2, 9, EOS)
    assert batch.input_ids.tolist() == [[1, 2, EOS, 3, 4, EOS, 5, EOS, EOS], [EOS] * 9]
    assert batch.position_ids.tolist() == [[0, 1, 2, 3, 0, 1, 2, 0, 0], [0] * 9]
    assert batch.doc_ids.tolist() == [[0, 0, 0, 0, 1, 1, 1, 2, 2], [0] * 9]
    assert batch.labels.tolist()[0] == [IGNORE, IGNORE, IGNORE, 3, IGNORE, IGNORE, 5, IGNORE, IGNORE]
    assert (batch.tokens, batch.loss_tokens, batch.padded) == (7, 2, 18)


def test_document_mask_is_causal_within_a_dialogue_only():
    mask = document_mask(torch.tensor([[0, 0, 1, 1, 1]]))
    assert mask.shape == (1, 1, 5, 5)
    assert mask[0, 0].int().tolist() == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0],
                                         [0, 0, 1, 1, 0], [0, 0, 1, 1, 1]]


def dialogues(n=12, seed=1):
    return encoded_dialogues(n, seed, eos=EOS, max_turn_tokens=12)


def test_packed_loss_equals_the_dialogues_one_per_row_float64():
    torch.manual_seed(0)
    model = build_model("tiny", vocab_size=EOS + 1, max_seq_len=64, dropout=0.0, eos_id=EOS).double().eval()
    loss = CausalLMLoss(model)
    examples = dialogues()
    packed = pack_batches(examples, 3 * 48, 48, EOS, np.random.default_rng(0))
    assert {tuple(b.input_ids.shape) for b in packed} == {(3, 48)}
    assert sum(int((b.doc_ids[:, 0] == 0).sum()) for b in packed) >= 3  # several rows, several per row
    assert max(int(b.doc_ids.max()) for b in packed) >= 2
    with torch.no_grad():
        alone = [loss(collate([e], EOS).input_ids, collate([e], EOS).labels) for e in examples]
        together = [loss(b.input_ids, b.labels, b.position_ids, b.doc_ids) for b in packed]
    assert sum(b.loss_tokens for b in packed) == sum(collate([e], EOS).loss_tokens for e in examples)
    assert sum(b.tokens for b in packed) == sum(len(e) for e in examples)
    torch.testing.assert_close(sum(together), sum(alone), rtol=1e-12, atol=0)
    # without the mask and positions the same rows give another loss: the test can fail
    with torch.no_grad():
        leaky = sum(loss(b.input_ids, b.labels) for b in packed)
    assert abs(float(leaky - sum(alone))) > 1e-3


def test_packing_is_on_by_default_and_rows_are_1024_or_the_batch():
    assert TrainConfig(out="r", shards="s").pack_len == 1024
    assert TrainConfig(out="r", shards="s", batch_tokens=256, max_seq_len=64).pack_len == 256
    assert TrainConfig(out="r", shards="s", pack=False).pack_len == 0
    with pytest.raises(Exception, match="--seq-len: must be at least --max-seq-len"):
        TrainConfig(out="r", shards="s", seq_len=128)


def test_a_checkpoint_from_before_packing_resumes_unpacked(tmp_path):
    saved = {k: v for k, v in TrainConfig(out=tmp_path, shards=tmp_path).__dict__.items()
             if k not in ("pack", "seq_len", "given", "out", "shards")}
    saved["shards"] = str(tmp_path)
    cfg, changes = rundir.merge_config(TrainConfig(out=tmp_path, resume=True, steps=1), saved, step=3,
                                       where=tmp_path / "trainer_state.pt")
    assert (cfg.pack, cfg.pack_len, changes) == (False, 0, {"max_steps": [100000, 4]})


def test_metrics_log_real_tokens_per_s_and_mfu_against_a_given_peak(small_shards, tmp_path):
    import json

    from rdial.train.trainer import train

    out = tmp_path / "run"
    train(TrainConfig(shards=small_shards, out=out, model="tiny", max_steps=2, batch_tokens=256, max_seq_len=64,
                      warmup_steps=0, eval_every=0, save_every=0, log_every=1, progress=False, device="cpu",
                      peak_tflops=0.5))
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train_lines = [m for m in lines if m["split"] == "train"]
    assert [m["step"] for m in train_lines] == [1, 2]
    for m in train_lines:
        # tiny: 2 layers x 64; rows of 256 packed tokens
        blocks = 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64
        head = 50304 * 64  # the output layer (tied to wte), the vocabulary padded to 50304
        share = m["loss_tokens"] / m["tokens"]  # only these are projected through it
        expected = (6 * blocks + 12 * 2 * 64 * 256 + 6 * head * share) * m["tokens_per_s"] / 0.5e12
        assert m["mfu"] == pytest.approx(expected, rel=1e-3, abs=1e-6)
        assert 0 < m["loss_tokens"] < m["tokens"]  # turn 0 of every dialogue carries no loss
        assert m["tokens_per_s"] > 0 and m["padding_share"] < 0.5
