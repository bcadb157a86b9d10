import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rdial.cli import main
from rdial.errors import ConfigError, RdialError
from rdial.train.trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def config(shards, out, **overrides) -> TrainConfig:
    values = dict(shards=shards, out=out, model="tiny", max_steps=6, batch_tokens=256, max_seq_len=64,
                  lr=3e-3, warmup_steps=2, shuffle_rows=20, eval_every=0, eval_dialogues=20,
                  save_every=3, log_every=1, progress=False, device="cpu")  # exact on any machine
    values.update(overrides)
    return TrainConfig(**values)


def weights(run: Path, step: int) -> dict:
    return load_file(str(run / "checkpoints" / f"step-{step:08d}" / "model.safetensors"))


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_run_writes_checkpoints_metrics_config_and_summary(six_steps):
    run, summary = six_steps
    assert summary.steps == 6 and summary.interrupted is None
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000003", "step-00000006"]
    assert [m["step"] for m in metrics(run) if m["split"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [m["split"] for m in metrics(run) if m["split"] != "train"] == ["valid", "test"]
    assert json.loads((run / "config.json").read_text())["grad_accum"] == 2
    assert json.loads((run / "config.json").read_text())["loader_workers"] == 0  # resolved: CPU
    assert json.loads((run / "summary.json").read_text())["steps"] == 6
    train_lines = [m for m in metrics(run) if m["split"] == "train"]
    assert summary.tokens == sum(m["tokens"] for m in train_lines)
    assert 0 < summary.padding_share < 0.5  # windows of 20 dialogues pad more than real ones
    assert summary.valid_ppl == pytest.approx(2.718281828 ** summary.valid_loss)


def test_half_plus_resume_plus_half_gives_identical_weights(six_steps, small_shards, tmp_path):
    straight, _ = six_steps
    run = tmp_path / "halves"
    assert train(config(small_shards, run, grad_accum=2, max_steps=3)).steps == 3
    assert train(config(small_shards, run, grad_accum=2, max_steps=6, resume=True)).steps == 6
    a, b = weights(straight, 6), weights(run, 6)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [m["loss"] for m in metrics(run) if m["split"] == "train"] == \
        [m["loss"] for m in metrics(straight) if m["split"] == "train"]


def test_checkpoint_loads_with_from_pretrained(six_steps):
    from transformers import AutoModelForCausalLM, GPT2LMHeadModel

    run, _ = six_steps
    path = run / "checkpoints" / "step-00000006"
    model = AutoModelForCausalLM.from_pretrained(path)
    assert isinstance(model, GPT2LMHeadModel)
    assert (model.config.n_layer, model.config.n_embd, model.config.vocab_size) == (2, 64, 50257)
    saved = load_file(str(path / "model.safetensors"))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved.items())


def test_tiny_model_loss_falls(learn_shards, tmp_path):
    run = tmp_path / "learn"
    summary = train(config(learn_shards, run, max_steps=16, batch_tokens=512, lr=1e-2, warmup_steps=3, dropout=0.0,
                           eval_every=8, eval_dialogues=50, save_every=0))
    train_losses = [m["loss"] for m in metrics(run) if m["split"] == "train"]
    valid = [m["loss"] for m in metrics(run) if m["split"] == "valid"]
    assert len(train_losses) == 16 and len(valid) == 2  # step 8 and the end
    assert sum(train_losses[-4:]) < 0.6 * sum(train_losses[:4])
    assert valid[1] < valid[0] - 1.0
    assert summary.test_loss < valid[0]


def test_existing_checkpoints_need_resume(six_steps, small_shards):
    run, _ = six_steps
    with pytest.raises(ConfigError, match="--resume: .* already holds checkpoints"):
        train(config(small_shards, run, grad_accum=2))


def test_resume_must_keep_lanes_and_data_order(six_steps, small_shards, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(six_steps[0], run)
    with pytest.raises(ConfigError, match=r"--grad-accum: this run was trained with --grad-accum 2; .*data order"):
        train(config(small_shards, run, grad_accum=1, resume=True, max_steps=7, given=("grad_accum",)))
    with pytest.raises(ConfigError, match="--seed: this run was trained with --seed 42; .*data order"):
        train(config(small_shards, run, grad_accum=2, resume=True, seed=1, max_steps=7))
    assert not (run / "changes.jsonl").exists()


def test_corrupt_checkpoint_is_a_clear_error_before_training(six_steps, small_shards, tmp_path):
    import shutil

    run = tmp_path / "corrupt"
    shutil.copytree(six_steps[0], run)
    model_file = run / "checkpoints" / "step-00000006" / "model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    before = (run / "metrics.jsonl").read_text()
    with pytest.raises(RdialError, match="model.safetensors: does not match the checkpoint's manifest"):
        train(config(small_shards, run, grad_accum=2, resume=True, max_steps=8))
    assert (run / "metrics.jsonl").read_text() == before


def test_tokenizer_model_vocab_mismatch_is_a_clear_error(small_shards, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    model_dir = tmp_path / "small-vocab"
    GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_layer=1, n_embd=32, n_head=2)).save_pretrained(model_dir)
    with pytest.raises(RdialError, match="the tokenizer has 50257 tokens but the model's vocabulary holds 1000"):
        train(config(small_shards, tmp_path / "run", model=str(model_dir)))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cli_reports_bad_input_with_exit_2(tmp_path, capsys):
    assert main(["train", "--shards", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert "rdial: error: --shards: " in capsys.readouterr().err
    assert main(["train", "--shards", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--batch-tokens", "10"]) == 2
    assert "--batch-tokens: must hold at least one sequence" in capsys.readouterr().err
    assert main(["train", "--shards", str(tmp_path), "--out", str(tmp_path / "run"), "--max-steps", "100"]) == 2
    assert "--warmup-steps: 16000 is not below --max-steps 100" in capsys.readouterr().err


def test_sigterm_checkpoints_exits_130_and_resume_matches_an_uninterrupted_run(six_steps, small_shards, tmp_path):
    straight, _ = six_steps
    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rdial", "train", "--shards", str(small_shards), "--out", str(run),
           "--batch-tokens", "256", "--max-seq-len", "64", "--lr", "3e-3", "--warmup-steps", "2",
           "--shuffle-rows", "20", "--eval-every", "0", "--eval-dialogues", "20", "--save-every", "0",
           "--log-every", "1", "--grad-accum", "2", "--max-steps", "6", "--no-progress", "--device", "cpu"]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": path})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not ((run / "metrics.jsonl").exists() and metrics(run)):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-3000:]  # still running after its first step
    proc.send_signal(signal.SIGTERM)  # after step 1; a step takes far longer than the signal
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped by SIGTERM" in err
    (stopped,) = (run / "checkpoints").iterdir()
    k = int(stopped.name.split("-")[1])
    assert 1 <= k < 6
    assert train(config(small_shards, run, grad_accum=2, save_every=0, resume=True)).steps == 6
    assert [m["step"] for m in metrics(run) if m["split"] == "train"] == [1, 2, 3, 4, 5, 6]
    a, b = weights(straight, 6), weights(run, 6)
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_loader_workers_default_is_four_per_gpu_rank_capped_by_cores_and_zero_on_cpu(monkeypatch):
    import rdial.train.trainer as trainer
    from rdial.train.distributed import Distributed
    from rdial.train.trainer import default_loader_workers

    gpu = Distributed(rank=0, world=8, local_rank=0, device=torch.device("cuda", 0))
    cpu = Distributed(rank=0, world=1, local_rank=0, device=torch.device("cpu"))
    monkeypatch.setattr(trainer, "default_workers", lambda: 16)  # cores this process may use
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_loader_workers(None, gpu) == 4
    assert default_loader_workers(None, cpu) == 0
    assert default_loader_workers(2, gpu) == 2 and default_loader_workers(3, cpu) == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # 16 cores, 8 ranks on the node: 1 spare core each
    assert default_loader_workers(None, gpu) == 1
    monkeypatch.setattr(trainer, "default_workers", lambda: 8)
    assert default_loader_workers(None, gpu) == 0
