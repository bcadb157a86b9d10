import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rdial.train.model import build_model
from rdial.train.trainer import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]


def test_two_ranks_read_disjoint_data_and_match_one_rank_with_the_same_global_batch(small_shards, tmp_path):
    ddp = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).with_name("_ddp_worker.py")), str(small_shards), str(ddp)]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # keep the caller's too
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    rows = [{tuple(r) for r in json.loads((ddp / f"rows-rank{rank}.json").read_text())} for rank in (0, 1)]
    assert not rows[0] & rows[1]
    assert len(rows[0] | rows[1]) == 120
    assert abs(len(rows[0]) - len(rows[1])) <= 5  # one row per row group at most

    one = tmp_path / "one"
    summary = train(TrainConfig(shards=small_shards, out=one, model="tiny", max_steps=4, batch_tokens=256,
                                max_seq_len=64, lr=3e-3, warmup_steps=2, shuffle_rows=20, dropout=0.0,
                                eval_every=0, eval_dialogues=20, save_every=0, log_every=1, progress=False,
                                grad_accum=2, device="cpu"))  # the gloo run above is on CPU too
    ranks = [json.loads((ddp / f"summary-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0] == ranks[1] == {"steps": 4, "tokens": summary.tokens}
    a = load_file(str(ddp / "checkpoints" / "step-00000004" / "model.safetensors"))
    b = load_file(str(one / "checkpoints" / "step-00000004" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4) for k in a)
    torch.manual_seed(42)  # the trainer's init: training moved the weights well beyond the tolerance
    init = build_model("tiny", vocab_size=50257, max_seq_len=64).state_dict()
    key = "transformer.h.0.attn.c_attn.weight"
    assert (a[key] - init[key]).abs().max() > 1e-3


def test_more_local_ranks_than_gpus_is_a_config_error_naming_the_flag(monkeypatch):
    from rdial.errors import ConfigError
    from rdial.train import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"^--device: this is local rank 1 but only 1 GPU\(s\) are visible"):
        distributed.resolve_device("auto", 1)
