"""The trainer's GPU path, proven on CPU (issue 11): rdial's own GPT-2 forward equals Hugging
Face's, the fixed-shape weighted loss equals the indexed one, packed eval equals unpacked eval,
no device read in the steady state, and torch.compile(fullgraph=True) compiles once."""

import json
import threading
import time
from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rdial.train import trainer
from rdial.train.batching import collate, pack_batches
from rdial.train.config import TrainConfig
from rdial.train.dialogue import IGNORE
from rdial.train.distributed import Distributed
from rdial.train.loader import eval_batches, shard_units, split_files
from rdial.train.model import CausalLMLoss, build_model, document_mask, loss_index, pad_vocab
from tests.train.sample import encoded_dialogues

EOS = 299
CPU = Distributed(rank=0, world=1, local_rank=0, device=torch.device("cpu"))


def dialogues(n=10, seed=4):
    return encoded_dialogues(n, seed, eos=EOS, max_turn_tokens=10)


def tiny(dropout=0.0):
    torch.manual_seed(0)
    return build_model("tiny", vocab_size=EOS + 1, max_seq_len=64, dropout=dropout, eos_id=EOS).double()


def test_own_forward_equals_hugging_face_float64_packed_and_plain():
    model = tiny().eval()
    batch = pack_batches(dialogues(), 2 * 48, 48, EOS, np.random.default_rng(0))[0]
    loss = CausalLMLoss(model)
    assert loss.own_forward
    from rdial.train.model import gpt2_hidden

    with torch.no_grad():
        mask = document_mask(batch.doc_ids)
        ours = gpt2_hidden(model.transformer, batch.input_ids, batch.position_ids, mask)
        theirs = model.transformer(input_ids=batch.input_ids, position_ids=batch.position_ids,
                                   attention_mask=mask, use_cache=False).last_hidden_state
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
        plain = collate(dialogues()[:3], EOS)
        torch.testing.assert_close(gpt2_hidden(model.transformer, plain.input_ids, None, None),
                                   model.transformer(input_ids=plain.input_ids).last_hidden_state,
                                   rtol=1e-12, atol=1e-12)


def test_weighted_fixed_shape_loss_equals_the_indexed_loss_and_gradients_float64():
    model = pad_vocab(tiny())  # 300 -> 320 rows: the padded columns are masked in both paths
    batch = pack_batches(dialogues(), 3 * 48, 48, EOS, np.random.default_rng(1))[0]
    index = loss_index(batch.labels)
    shifted = torch.nn.functional.pad(batch.labels[:, 1:], (0, 1), value=IGNORE).reshape(-1)
    assert index.tolist() == torch.nonzero(shifted != IGNORE)[:, 0].tolist()
    assert index.numel() == batch.loss_tokens
    results = []
    for chunk, use_index in ((7, False), (7, True), (0, False), (0, True)):
        model.zero_grad(set_to_none=True)
        value = CausalLMLoss(model, chunk=chunk)(batch.input_ids, batch.labels, batch.position_ids,
                                                 batch.doc_ids, index if use_index else None)
        value.backward()
        results.append((value.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    for value, grads in results[1:]:
        torch.testing.assert_close(value, results[0][0], rtol=1e-12, atol=0)
        for name, grad in grads.items():
            torch.testing.assert_close(grad, results[0][1][name], rtol=1e-9, atol=1e-12, msg=name)


def test_packed_eval_equals_unpacked_eval_float64(small_shards, tokenizer):
    torch.manual_seed(0)
    model = pad_vocab(build_model("tiny", vocab_size=50257, max_seq_len=64, dropout=0.0)).double()
    units = shard_units(split_files(small_shards, "valid"))
    kw = dict(rank=0, world=1, limit=30, batch_tokens=256, max_seq_len=64)
    packed, _ = eval_batches(units, tokenizer, pack_len=128, **kw)
    unpacked, _ = eval_batches(units, tokenizer, **kw)
    assert {tuple(b.input_ids.shape) for b in packed} == {(2, 128)}
    assert sum(b.loss_tokens for b in packed) == sum(b.loss_tokens for b in unpacked) > 100
    assert len(packed) < len(unpacked)
    a, b = trainer.evaluate(model, packed, CPU), trainer.evaluate(model, unpacked, CPU)
    assert a == pytest.approx(b, rel=1e-12, abs=0)
    assert model.training  # evaluate puts the model back into train mode


class DeviceReads(TorchDispatchMode):
    """Counts, in the thread that enters it, the ops that read a device tensor on the host (on
    CUDA each waits for the GPU): .item()/bool()/float() (_local_scalar_dense), nonzero,
    masked_select, boolean-mask indexing; .tolist() is counted by a patch beside it."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        if name in ("aten::_local_scalar_dense", "aten::nonzero", "aten::masked_select"):
            self.ops[name] += 1
        if name.startswith("aten::index") and any(
                isinstance(t, torch.Tensor) and t.dtype == torch.bool for t in (args[1] if len(args) > 1 and
                                                                                isinstance(args[1], (list, tuple)) else [])):
            self.ops["bool index"] += 1
        return func(*args, **(kwargs or {}))


def count_device_reads(monkeypatch, fn):
    mode, main = DeviceReads(), threading.get_ident()
    tolist = torch.Tensor.tolist

    def counted_tolist(self):
        if threading.get_ident() == main:
            mode.ops["tolist"] += 1
        return tolist(self)

    monkeypatch.setattr(torch.Tensor, "tolist", counted_tolist)
    with mode:
        fn()
    monkeypatch.setattr(torch.Tensor, "tolist", tolist)
    return mode.ops


def test_the_detector_sees_the_reads_the_old_loss_made(monkeypatch):
    hidden, keep = torch.randn(4, 3), torch.tensor([True, False, True, True])
    ops = count_device_reads(monkeypatch, lambda: (hidden[keep], torch.zeros(2).sum().item(), torch.ones(1).tolist()))
    assert ops == {"bool index": 1, "aten::_local_scalar_dense": 1, "tolist": 1}


def test_steady_state_steps_read_nothing_from_the_device(small_shards, tmp_path, monkeypatch):
    """Four more steps between the same log lines, evals and checkpoints add no device read."""
    def run(name, steps):
        return lambda: trainer.train(TrainConfig(
            shards=small_shards, out=tmp_path / name, model="tiny", max_steps=steps, batch_tokens=256,
            max_seq_len=64, warmup_steps=1, shuffle_rows=20, eval_every=0, eval_dialogues=20, save_every=0,
            log_every=steps, progress=False, device="cpu", grad_accum=2))

    short = count_device_reads(monkeypatch, run("short", 4))
    long = count_device_reads(monkeypatch, run("long", 8))
    assert short == long
    assert short["tolist"] >= 3  # the log line, eval and summary do read (the count can fail)
    assert short["aten::_local_scalar_dense"] >= 1 and "aten::nonzero" not in short


def test_compile_mode_resolves_per_device_and_old_bool_configs_still_load(tmp_path):
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert [trainer.use_compile("auto", d, p) for d, p in ((cuda, True), (cuda, False), (cpu, True))] == \
        [True, False, False]
    assert trainer.use_compile("on", cpu, False) and not trainer.use_compile("off", cuda, True)
    assert TrainConfig(out="r", shards="s", compile=True).compile == "on"
    assert TrainConfig(out="r", shards="s").compile == "auto"
    with pytest.raises(Exception, match="--compile: must be one of auto, on, off"):
        TrainConfig(out="r", shards="s", compile="yes")
    from rdial.train import rundir

    saved = {k: v for k, v in TrainConfig(out=tmp_path, shards=tmp_path).__dict__.items() if k not in ("given", "out")}
    saved.update(shards=str(tmp_path), compile=False)  # a checkpoint written before the modes
    cfg, changes = rundir.merge_config(TrainConfig(out=tmp_path, resume=True, steps=1), saved, step=3,
                                       where=tmp_path / "trainer_state.pt")
    assert (cfg.compile, changes) == ("auto", {"max_steps": [100000, 4]})


def test_compiled_run_compiles_once_matches_eager_and_resumes(small_shards, tmp_path):
    """fullgraph=True on the packed [1, 256] shape: one graph for 3 steps, one for the resumed 2,
    no recompilation (the limit is set to fail); losses equal eager's to float32 rounding."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    def cfg(name, **kw):
        return TrainConfig(**dict(dict(
            shards=small_shards, out=tmp_path / name, model="tiny", max_steps=3, batch_tokens=256, max_seq_len=64,
            lr=3e-3, warmup_steps=1, shuffle_rows=20, eval_every=0, eval_dialogues=20, save_every=0, log_every=1,
            progress=False, device="cpu", dropout=0.0), **kw))

    def losses(name):
        lines = [json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        return [m for m in lines if m["split"] == "train"]

    eager = trainer.train(cfg("eager", max_steps=5))
    torch._dynamo.reset()
    counters.clear()
    limit = torch._dynamo.config.recompile_limit
    torch._dynamo.config.recompile_limit = 1
    try:
        with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True):
            started = time.perf_counter()
            first = trainer.train(cfg("compiled", compile="on"))
            assert counters["stats"]["unique_graphs"] == 1
            resumed = trainer.train(cfg("compiled", compile="on", max_steps=5, resume=True))
            seconds = time.perf_counter() - started
    finally:
        torch._dynamo.config.recompile_limit = limit
    print(f"compiled 3 + 2 steps in {seconds:.1f} s (first compile {first.compile_s} s, resumed {resumed.compile_s} s)")
    assert counters["stats"]["unique_graphs"] <= 2  # the resumed run's new module: at most its own one graph
    assert "recompiles" not in counters or not counters["recompiles"]
    assert first.compile_s > 0 and resumed.compile_s > 0 and eager.compile_s is None
    compiled = losses("compiled")
    assert [m["step"] for m in compiled] == [1, 2, 3, 4, 5]
    assert compiled[0]["compile_s"] == first.compile_s and "compile_s" not in compiled[1]
    assert compiled[3]["compile_s"] == resumed.compile_s
    assert [m["loss"] for m in compiled] == pytest.approx([m["loss"] for m in losses("eager")], rel=2e-4)
    assert resumed.tokens + first.tokens == eager.tokens
