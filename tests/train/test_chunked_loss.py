"""The chunked output-layer cross-entropy equals the plain loss and its gradients (issue 11)."""

import numpy as np
import torch
import torch.nn.functional as F

from rdial.train.batching import collate
from rdial.train.chunked_loss import chunked_cross_entropy
from rdial.train.dialogue import encode_dialogue
from rdial.train.model import CausalLMLoss, build_model


def test_equals_plain_cross_entropy_and_gradients_float64():
    torch.manual_seed(0)
    hidden = torch.randn(11, 8, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(13, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 13, (11,))
    chunked = chunked_cross_entropy(hidden, weight, targets, chunk=4)  # 4 + 4 + 3 positions
    (3.0 * chunked).backward()
    got = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    plain = F.cross_entropy(hidden @ weight.t(), targets, reduction="sum")
    (3.0 * plain).backward()
    torch.testing.assert_close(chunked, plain, rtol=1e-12, atol=0)
    torch.testing.assert_close(got[0], hidden.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], weight.grad, rtol=1e-10, atol=1e-12)


def test_model_loss_and_tied_weight_gradients_match_the_plain_path_float64():
    torch.manual_seed(0)
    model = build_model("tiny", vocab_size=300, max_seq_len=64, dropout=0.0, eos_id=299).double()
    rng = np.random.default_rng(3)
    examples = [encode_dialogue([rng.integers(0, 299, 9).tolist() for _ in range(3)], [1.0, 0.0, 1.0],
                                eos_id=299, max_seq_len=40)[0] for _ in range(4)]
    batch = collate(examples, 299)
    results = []
    for chunk in (5, 0):  # 5: chunks of 5 positions; 0: the plain F.cross_entropy path
        model.zero_grad(set_to_none=True)
        loss = CausalLMLoss(model, chunk=chunk)(batch.input_ids, batch.labels)
        loss.backward()
        results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (a, grads_a), (b, grads_b) = results
    torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    assert grads_a.keys() == grads_b.keys() and "transformer.wte.weight" in grads_a
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-9, atol=1e-12, msg=name)


def test_no_loss_positions_give_zero_and_gradients_for_every_parameter():
    hidden = torch.randn(0, 4, requires_grad=True)
    weight = torch.randn(5, 4, requires_grad=True)
    loss = chunked_cross_entropy(hidden, weight, torch.zeros(0, dtype=torch.int64))
    loss.backward()
    assert loss.item() == 0.0 and weight.grad.abs().sum().item() == 0.0


def test_padded_vocabulary_trains_like_the_plain_one_and_saves_the_hf_layout(tmp_path):
    from transformers import AutoModelForCausalLM

    from rdial.train.model import pad_vocab, unpadded_state_dict

    torch.manual_seed(0)
    plain = build_model("tiny", vocab_size=300, max_seq_len=64, dropout=0.0, eos_id=299).double()
    padded = pad_vocab(build_model("tiny", vocab_size=300, max_seq_len=64, dropout=0.0, eos_id=299).double())
    with torch.no_grad():
        for (name, p), q in zip(padded.named_parameters(), plain.parameters()):
            p[: q.shape[0]] = q
    assert padded.transformer.wte.weight.shape == (320, 64) and padded.lm_head.weight is padded.transformer.wte.weight
    rng = np.random.default_rng(5)
    batch = collate([encode_dialogue([rng.integers(0, 299, 7).tolist() for _ in range(3)], [1.0, 1.0, 1.0],
                                     eos_id=299, max_seq_len=40)[0] for _ in range(3)], 299)
    losses = []
    for model in (plain, padded):
        for chunk in (4, 0):
            model.zero_grad(set_to_none=True)
            loss = CausalLMLoss(model, chunk=chunk)(batch.input_ids, batch.labels)
            loss.backward()
            losses.append((loss.detach(), model.transformer.wte.weight.grad.clone()))
    for loss, grad in losses[1:]:
        torch.testing.assert_close(loss, losses[0][0], rtol=1e-12, atol=0)
        torch.testing.assert_close(grad[:300], losses[0][1], rtol=1e-9, atol=1e-12)
        assert grad[300:].abs().sum().item() == 0.0
    state = unpadded_state_dict(padded)
    assert state["transformer.wte.weight"].shape == (300, 64) and "lm_head.weight" not in state
    padded.save_pretrained(tmp_path, state_dict=state)
    back = AutoModelForCausalLM.from_pretrained(tmp_path).double()
    assert back.config.vocab_size == 300 and back.lm_head.weight.shape == (300, 64)
    torch.testing.assert_close(back.transformer.wte.weight, plain.transformer.wte.weight, rtol=0, atol=0)
    torch.testing.assert_close(back.lm_head.weight, plain.transformer.wte.weight, rtol=0, atol=0)
