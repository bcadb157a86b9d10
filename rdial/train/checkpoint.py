"""Checkpoints: a Hugging Face model directory plus the trainer's state, published atomically.

    python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('RUN/checkpoints/step-00001000')"

    RUN_DIR/checkpoints/step-00001000/
      config.json model.safetensors generation_config.json   the model (from_pretrained loads it)
      tokenizer.json tokenizer_config.json                    the tokenizer it was trained with
      trainer_state.pt    optimizer, schedule, RNG per rank, loader position per lane, step, config,
                          the shards' fingerprint (version 2; STATE_FIELDS is its schema)
      manifest.json       size and blake2b of every file above; written last

A checkpoint is written under a `.tmp-*` name and renamed into place, so a published
`step-*` directory is complete; the manifest also catches a file damaged later. The newest K
are kept. The model's config.json says `use_cache: true`: what inference wants (training
asks for no cache in its own forward calls).

A trainer state that matches its manifest is still type-checked field by field on load
(`check_state`), so a hand-edited or foreign file is one line naming the field, not a traceback.
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
STATE_VERSION = 2  # 2: + version, shards_fingerprint; 1 (no version field): rdial before 2026-12


def _tensor(v):
    return isinstance(v, torch.Tensor)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _rng(v):
    return isinstance(v, dict) and _tensor(v.get("torch")) and (v.get("cuda") is None or _tensor(v["cuda"]))


def _position(v):
    return isinstance(v, dict) and set(v) == {"epoch", "window", "batch"} and all(map(_int, v.values()))


# field -> (check, what it should be): the schema of trainer_state.pt
STATE_FIELDS = {
    "step": (_int, "an int >= 0"),
    "world": (lambda v: _int(v) and v >= 1, "an int >= 1"),
    "lanes": (lambda v: _int(v) and v >= 1, "an int >= 1"),
    "optimizer": (lambda v: isinstance(v, dict) and isinstance(v.get("state"), dict)
                  and isinstance(v.get("param_groups"), list), "a dict with 'state' and 'param_groups'"),
    "schedule": (lambda v: isinstance(v, dict) and _int(v.get("step_count")), "{'step_count': int}"),
    "scaler": (lambda v: v is None or isinstance(v, dict), "a dict or None"),
    "rng": (lambda v: isinstance(v, list) and len(v) >= 1 and all(map(_rng, v)),
            "a list of {'torch': tensor, 'cuda': tensor or None}, one per rank"),
    "positions": (lambda v: isinstance(v, dict) and all(isinstance(k, str) and k.isdigit() and _position(p)
                                                         for k, p in v.items()),
                  "a dict lane -> {'epoch', 'window', 'batch'} of ints >= 0"),
    "config": (lambda v: isinstance(v, dict), "a dict (the run's config)"),
}
STATE_FIELDS_V2 = {
    "version": (lambda v: v == STATE_VERSION, f"the int {STATE_VERSION}"),
    "shards_fingerprint": (lambda v: isinstance(v, str), "a str"),
}


def check_state(state, path: Path) -> dict:
    """RdialError naming the first field of the trainer state that is missing or of the wrong type."""
    if not isinstance(state, dict):
        raise RdialError(f"{path}: should hold a dict of trainer fields, found {type(state).__name__}")
    version = state.get("version", 1)
    if version not in (1, STATE_VERSION) or isinstance(version, bool):
        raise RdialError(f"{path}: field 'version' is {version!r}; this rdial reads versions 1 and "
                         f"{STATE_VERSION} (a newer rdial wrote it?)")
    schema = dict(STATE_FIELDS, **(STATE_FIELDS_V2 if version == STATE_VERSION else {}))
    for name, (ok, expected) in schema.items():
        if name not in state:
            raise RdialError(f"{path}: field {name!r} is missing (expected {expected})")
        if not ok(state[name]):
            found = type(state[name]).__name__
            raise RdialError(f"{path}: field {name!r} should be {expected}, found {found}")
    if len(state["rng"]) != state["world"]:
        raise RdialError(f"{path}: field 'rng' should hold one entry per rank ('world' = {state['world']}), "
                         f"found {len(state['rng'])}")
    return state


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
        model.config.use_cache = True  # what generate wants; training passes use_cache=False itself
        from rdial.train.model import unpadded_state_dict

        model.save_pretrained(str(tmp), state_dict=unpadded_state_dict(model))  # vocab 50257, HF layout
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
        state = torch.load(Path(directory) / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle or zip error on a damaged file
        raise RdialError(f"{Path(directory) / STATE}: unreadable trainer state ({exc})") from exc
    return check_state(state, Path(directory) / STATE)


def sweep(run_dir: Path) -> int:
    """Remove half-written checkpoints a killed run left behind."""
    return sweep_temporaries(checkpoints_dir(run_dir))
