"""CUDA paths of the trainer (bf16 autocast, fused AdamW, torch.compile, a CUDA checkpoint resumed on
CPU, generation on the GPU). Skipped without a GPU; run on one with:

    python -m pytest -q tests/train/test_cuda.py
"""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from rdial.train.trainer import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def config(shards, out, **overrides) -> TrainConfig:
    values = dict(shards=shards, out=out, model="tiny", max_steps=3, batch_tokens=256, max_seq_len=64,
                  lr=3e-3, warmup_steps=1, shuffle_rows=20, eval_every=0, eval_dialogues=20, save_every=3,
                  log_every=1, progress=False, dropout=0.0, device="cuda")
    values.update(overrides)
    return TrainConfig(**values)


def train_losses(run) -> list[float]:
    return [m["loss"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if m["split"] == "train"]


def test_fp32_on_cuda_follows_the_cpu_run(small_shards, tmp_path):
    gpu = train(config(small_shards, tmp_path / "gpu", precision="fp32"))
    cpu = train(config(small_shards, tmp_path / "cpu", precision="fp32", device="cpu"))
    assert gpu.tokens == cpu.tokens
    a, b = train_losses(tmp_path / "gpu"), train_losses(tmp_path / "cpu")
    assert len(a) == len(b) == 3
    assert a[0] == pytest.approx(b[0], rel=1e-4)  # same initial weights, same first batch
    assert a == pytest.approx(b, rel=1e-3)
    assert gpu.valid_loss == pytest.approx(cpu.valid_loss, rel=1e-3)


def test_bf16_run_keeps_fp32_weights_and_resumes_on_cpu(small_shards, tmp_path):
    run = tmp_path / "run"
    first = train(config(small_shards, run))  # precision auto -> bf16 on a GPU that has it
    assert first.steps == 3 and math.isfinite(first.train_loss) and math.isfinite(first.valid_loss)
    saved = load_file(str(run / "checkpoints" / "step-00000003" / "model.safetensors"))
    assert {t.dtype for t in saved.values()} == {torch.float32}
    assert json.loads((run / "config.json").read_text())["device"] == "cuda"
    resumed = train(config(small_shards, run, max_steps=5, resume=True, device="cpu"))
    assert resumed.steps == 5 and math.isfinite(resumed.train_loss)
    assert [m["step"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if m["split"] == "train"] == [1, 2, 3, 4, 5]


def test_compile_on_cuda_trains_like_eager(small_shards, tmp_path):
    eager = train(config(small_shards, tmp_path / "eager", precision="fp32", compile="off"))  # auto: compiled
    compiled = train(config(small_shards, tmp_path / "compiled", precision="fp32", compile=True))
    assert compiled.tokens == eager.tokens
    assert train_losses(tmp_path / "compiled") == pytest.approx(train_losses(tmp_path / "eager"), rel=1e-3)


def test_reply_on_cuda_equals_reply_on_cpu(six_steps):
    from rdial.train.generate import ChatModel

    run, _ = six_steps
    gpu = ChatModel(run, device="cuda").reply(["what comes after 17?"], max_new_tokens=8)
    cpu = ChatModel(run, device="cpu").reply(["what comes after 17?"], max_new_tokens=8)
    assert gpu == cpu


def test_default_cuda_run_is_compiled_once_and_never_syncs_between_log_lines(small_shards, tmp_path):
    """--compile auto on CUDA with packed rows: compiled (compile_s logged); four more steps
    between the same log lines add no synchronizing CUDA call (torch.cuda.set_sync_debug_mode)."""
    import warnings

    def synced(name, steps):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                summary = train(config(small_shards, tmp_path / name, max_steps=steps, log_every=steps, save_every=0))
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return summary, sum("synchronizing" in str(w.message) for w in caught)

    (short, a), (long, b) = synced("short", 4), synced("long", 8)
    assert short.compile_s is not None and long.compile_s is not None
    assert a == b and a > 0, (a, b)
