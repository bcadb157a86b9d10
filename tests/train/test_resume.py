"""--resume keeps the run's own config; the run folder's lock, change log, shards fingerprint,
finished runs, and type-checked trainer state (issues 9, 11, 14.9, 15)."""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from rdial.cli import main
from rdial.errors import ConfigError, RdialError
from rdial.train import checkpoint as ckpt
from rdial.train.rundir import run_lock, shards_fingerprint
from tests.train.sample import write_sample_shards
from rdial.train.trainer import TrainConfig, train


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def run(six_steps, tmp_path):
    """A copy of the finished 6-step run (grad-accum 2, lr 3e-3, warmup 2, max-steps 6)."""
    copy = tmp_path / "run"
    shutil.copytree(six_steps[0], copy)
    return copy


def cli(*args) -> int:
    return main(["train", *map(str, args), "--no-progress"])


def test_resume_with_only_steps_keeps_every_saved_flag_and_logs_a_dated_change(run, capsys):
    config_before = (run / "config.json").read_bytes()
    assert cli("--out", run, "--resume", "--steps", "2") == 0
    err = capsys.readouterr().err
    assert "resuming " + str(run) + " at step 6 of 8 with the run's saved config; changed: --max-steps 6 -> 8" in err
    train_rows = [m for m in metrics(run) if m["split"] == "train"]
    assert [m["step"] for m in train_rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    # noam with the run's lr 3e-3 and warmup 2, not the defaults (1e-4, 16000): lr after step k is
    # the lr of step k + 1 = 3e-3 * sqrt(2 / (k + 1))
    assert train_rows[6]["lr"] == pytest.approx(3e-3 * (2 / 8) ** 0.5, rel=1e-12)
    assert train_rows[7]["lr"] == pytest.approx(3e-3 * (2 / 9) ** 0.5, rel=1e-12)
    assert (run / "config.json").read_bytes() == config_before  # the config the run started with
    (change,) = [json.loads(line) for line in (run / "changes.jsonl").read_text().splitlines()]
    assert change["step"] == 6 and change["changes"] == {"max_steps": [6, 8]}
    assert len(change["time"]) == 20 and change["time"].endswith("Z")
    state = torch.load(run / "checkpoints" / "step-00000008" / ckpt.STATE, weights_only=True)
    assert (state["config"]["max_steps"], state["config"]["lr"], state["config"]["grad_accum"]) == (8, 3e-3, 2)
    assert state["config"]["steps"] is None and state["version"] == ckpt.STATE_VERSION


@pytest.mark.parametrize("flag, value, what", [
    ("--lr", "1e-4", "--lr: this run was trained with --lr 0.003; .*optimiser's state"),
    ("--warmup-steps", "16000", "--warmup-steps: this run was trained with --warmup-steps 2;"),
    ("--model", "small", "--model: this run was trained with --model tiny; .*the model"),
    ("--tokenizer", "gpt2", "--tokenizer: this run was trained with --tokenizer gpt2-offline;"),
    ("--max-seq-len", "128", "--max-seq-len: this run was trained with --max-seq-len 64; .*data order"),
    ("--no-pack", None, "--pack: this run was trained with --pack True; .*packed rows or not"),
    ("--seq-len", "256", "--seq-len: this run was trained with --seq-len None; .*the packed rows"),
])
def test_resume_refuses_a_flag_that_changes_the_run_with_one_line(run, capsys, flag, value, what):
    before = (run / "metrics.jsonl").read_bytes()
    assert cli("--out", run, "--resume", "--steps", "1", flag, *([value] if value else [])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rdial: error: ")
    assert re.search(what, err), err
    assert (run / "metrics.jsonl").read_bytes() == before and not (run / "changes.jsonl").exists()


def test_resume_accepts_the_saved_value_of_a_fixed_flag(run):
    # giving a fixed flag its own saved value is no change; eval cadence may change
    assert cli("--out", run, "--resume", "--max-steps", "7", "--lr", "3e-3", "--log-every", "7") == 0
    (change,) = [json.loads(line) for line in (run / "changes.jsonl").read_text().splitlines()]
    assert change["changes"] == {"max_steps": [6, 7], "log_every": [1, 7]}
    assert [m["step"] for m in metrics(run) if m["split"] == "train"] == [1, 2, 3, 4, 5, 6, 7]


def test_steps_and_max_steps_together_are_refused(run, capsys):
    assert cli("--out", run, "--resume", "--steps", "2", "--max-steps", "9") == 2
    assert "--steps: give --steps (more steps from the checkpoint) or --max-steps" in capsys.readouterr().err


def test_python_api_resume_with_steps(run):
    # what `rdial run` calls: only the fields it sets count, the rest is the run's own
    summary = train(TrainConfig(out=run, resume=True, steps=1, progress=False))
    assert summary.steps == 7 and not summary.already_finished
    assert json.loads((run / "changes.jsonl").read_text())["changes"] == {"max_steps": [6, 7]}


def test_finished_run_rerun_is_left_as_it_is(run, capsys):
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".rdial.lock"}
    assert cli("--out", run, "--resume") == 0
    err = capsys.readouterr().err
    assert f"rdial train: {run} finished at step 6 already (its --max-steps); left as it is" in err
    assert "train on with --resume --steps N" in err
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".rdial.lock"}
    assert after == files  # summary.json, metrics.jsonl, checkpoints: untouched
    summary = train(TrainConfig(out=run, resume=True, progress=False))
    assert summary.already_finished and summary.steps == 6 and summary.train_loss is not None


def test_killed_in_the_final_eval_finishes_without_training_or_repeating_rows(run):
    (run / "summary.json").unlink()
    newest = run / "checkpoints" / "step-00000006"
    stamp = newest.stat().st_mtime_ns
    summary = train(TrainConfig(out=run, resume=True, progress=False))
    assert summary.steps == 6 and summary.tokens == 0 and not summary.already_finished
    assert [(m["step"], m["split"]) for m in metrics(run) if m["split"] != "train"] == [(6, "valid"), (6, "test")]
    assert newest.stat().st_mtime_ns == stamp and json.loads((run / "summary.json").read_text())["steps"] == 6


def test_a_second_trainer_on_the_same_out_exits_75(run, small_shards, capsys):
    with run_lock(run):
        assert cli("--shards", small_shards, "--out", run, "--resume", "--steps", "1") == 75
    err = capsys.readouterr().err
    assert err.startswith(f"rdial: error: --out: {run} is in use by `rdial train` (pid ")
    assert not (run / "changes.jsonl").exists()


def test_out_that_is_a_file_is_one_line_exit_2(tmp_path, small_shards, capsys):
    (tmp_path / "file").write_text("x")
    assert cli("--shards", small_shards, "--out", tmp_path / "file") == 2
    assert capsys.readouterr().err == (f"rdial: error: --out: {tmp_path / 'file'} is a file; --out names the "
                                       f"run directory (checkpoints/, metrics.jsonl, ...): choose a new path\n")


def test_shards_fingerprint_ignores_path_and_mtime_but_not_content(small_shards, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_shards, copy)  # new path, new mtimes
    assert shards_fingerprint(copy) == shards_fingerprint(small_shards)
    part = sorted((copy / "valid").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-1] + b"X")
    assert shards_fingerprint(copy) != shards_fingerprint(small_shards)


def test_resume_on_changed_shards_stops_unless_accepted(run, tmp_path, capsys):
    other = write_sample_shards(tmp_path / "month2", train=60, valid=10, test=10, files=1, rows_per_group=30, seed=9)
    assert cli("--out", run, "--resume", "--steps", "1", "--shards", other) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rdial: error: --accept-changed-shards: {other} changed since "
                          f"{run / 'checkpoints' / 'step-00000006'} was written")
    assert cli("--out", run, "--resume", "--steps", "1", "--shards", other, "--accept-changed-shards") == 0
    assert "new shards (data stream restarted)" in capsys.readouterr().err
    (change,) = [json.loads(line) for line in (run / "changes.jsonl").read_text().splitlines()]
    assert set(change["changes"]) == {"max_steps", "shards", "shards_fingerprint"}
    assert change["changes"]["shards_fingerprint"][1] == shards_fingerprint(other)
    state = torch.load(run / "checkpoints" / "step-00000007" / ckpt.STATE, weights_only=True)
    assert state["shards_fingerprint"] == shards_fingerprint(other)
    assert state["positions"] == {"0": {"epoch": 0, "window": 0, "batch": 1},
                                  "1": {"epoch": 0, "window": 0, "batch": 1}}  # restarted, one step in


def test_saved_checkpoints_want_the_kv_cache(six_steps):
    for step in (3, 6):
        config = json.loads((six_steps[0] / "checkpoints" / f"step-{step:08d}" / "config.json").read_text())
        assert config["use_cache"] is True


@pytest.mark.parametrize("field, value, message", [
    ("step", "6", "field 'step' should be an int >= 0, found str"),
    ("positions", {"0": {"epoch": 0, "window": "a", "batch": 0}}, "field 'positions' should be a dict lane -> {'epoch', 'window', 'batch'} of ints >= 0, found dict"),
    ("rng", [], "field 'rng' should be a list of {'torch': tensor, 'cuda': tensor or None}, one per rank, "
            "found list"),
    ("optimizer", [1, 2], "field 'optimizer' should be a dict with 'state' and 'param_groups', found list"),
    ("version", 99, "field 'version' is 99; this rdial reads versions 1 and 2 (a newer rdial wrote it?)"),
    ("shards_fingerprint", None, "field 'shards_fingerprint' should be a str, found NoneType"),
])
def test_malformed_trainer_state_that_matches_its_manifest_is_one_line(run, capsys, field, value, message):
    newest = run / "checkpoints" / "step-00000006"
    state = torch.load(newest / ckpt.STATE, weights_only=True)
    state[field] = value
    torch.save(state, newest / ckpt.STATE)
    (newest / ckpt.MANIFEST).unlink()
    ckpt._write_manifest(newest, 6)  # a tampered file with a matching manifest
    assert cli("--out", run, "--resume", "--steps", "1") == 2
    assert capsys.readouterr().err == f"rdial: error: {newest / ckpt.STATE}: {message}\n"


def test_malformed_saved_config_field_is_one_line(run):
    newest = run / "checkpoints" / "step-00000006"
    state = torch.load(newest / ckpt.STATE, weights_only=True)
    state["config"]["lr"] = "fast"
    torch.save(state, newest / ckpt.STATE)
    (newest / ckpt.MANIFEST).unlink()
    ckpt._write_manifest(newest, 6)
    with pytest.raises(RdialError, match=r"trainer_state.pt: config field 'lr' should be float, found str 'fast'"):
        train(TrainConfig(out=run, resume=True, steps=1, progress=False))


def test_fresh_run_with_steps_and_resume_without_checkpoint_checks_warmup(small_shards, tmp_path):
    with pytest.raises(ConfigError, match="--warmup-steps: 16000 is not below --steps 5"):
        train(TrainConfig(shards=small_shards, out=tmp_path / "r", resume=True, steps=5))
    with pytest.raises(ConfigError, match="--shards: required"):
        train(TrainConfig(out=tmp_path / "r2", resume=True, steps=5, warmup_steps=1))


def test_train_says_where_its_logs_and_curves_are(run, monkeypatch, capsys):
    import rdial.train.metrics as metrics_module

    monkeypatch.setattr(metrics_module, "_tensorboard", lambda directory: None)
    assert cli("--out", run, "--resume", "--steps", "1") == 0
    err = capsys.readouterr().err
    assert (f"metrics in {run / 'metrics.jsonl'}, curves in {run / 'metrics.png'}; TensorBoard is not installed "
            f"(pip install 'rdial[tensorboard]' to get logs in {run / 'tensorboard'})") in err

    class Board:
        def add_scalar(self, *a):
            pass

        def close(self):
            pass

    monkeypatch.setattr(metrics_module, "_tensorboard", lambda directory: Board())
    assert cli("--out", run, "--resume", "--steps", "1") == 0
    board = run / "tensorboard"
    assert f"TensorBoard logs in {board}: view with `tensorboard --logdir {board}`" in capsys.readouterr().err
