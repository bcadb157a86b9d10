"""Checkpoints: a Hugging Face model directory plus the trainer's state, published atomically.

    python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('RUN/checkpoints/step-00001000')"

    RUN_DIR/checkpoints/step-00001000/
      config.json model.safetensors generation_config.json   the model (from_pretrained loads it)
      tokenizer.json tokenizer_config.json                    the tokenizer it was trained with
      trainer_state.pt    optimizer, schedule, RNG per rank, loader position per lane, step, config
      manifest.json       size and blake2b of every file above; written last

A checkpoint is written under a `.tmp-*` name and renamed into place, so a published
`step-*` directory is complete; the manifest also catches a file damaged later. The newest K
are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from rdial.errors import RdialError
from rdial.publish import replace_dir, sweep_temporaries, temporary_name

MANIFEST = "manifest.json"
STATE = "trainer_state.pt"
PREFIX = "step-"


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Published checkpoints, oldest first."""
    d = checkpoints_dir(run_dir)
    if not d.is_dir():
        return []
    found = [p for p in d.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def save_checkpoint(run_dir: Path, step: int, model, tokenizer, state: dict, *, keep: int) -> Path:
    """Write the checkpoint of `step`, publish it, drop all but the newest `keep`; its path."""
    d = checkpoints_dir(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    final = d / f"{PREFIX}{step:08d}"
    tmp = temporary_name(final)
    tmp.mkdir()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one checkpoint is one log line, not a bar
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save(tmp)
        torch.save(state, tmp / STATE)
        _write_manifest(tmp, step)
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _write_manifest(directory: Path, step: int) -> None:
    files = {p.name: {"bytes": p.stat().st_size, "blake2b": _digest(p)}
             for p in sorted(directory.iterdir()) if p.is_file()}
    text = json.dumps({"step": step, "files": files}, indent=2, sort_keys=True) + "\n"
    with open(directory / MANIFEST, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def verify_checkpoint(directory: Path) -> None:
    """RdialError naming the damaged file when the checkpoint does not match its manifest."""
    manifest_path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RdialError(f"{manifest_path}: missing or unreadable; the checkpoint is incomplete or "
                         f"corrupt (delete {directory} to resume from the one before)") from exc
    for name, expect in files.items():
        path = Path(directory) / name
        if not path.is_file() or path.stat().st_size != expect["bytes"] or _digest(path) != expect["blake2b"]:
            raise RdialError(f"{path}: does not match the checkpoint's manifest (missing, truncated or "
                             f"altered); delete {directory} to resume from the one before")


def load_trainer_state(directory: Path) -> dict:
    verify_checkpoint(directory)
    try:
        return torch.load(Path(directory) / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle or zip error on a damaged file
        raise RdialError(f"{Path(directory) / STATE}: unreadable trainer state ({exc})") from exc


def sweep(run_dir: Path) -> int:
    """Remove half-written checkpoints a killed run left behind."""
    return sweep_temporaries(checkpoints_dir(run_dir))
