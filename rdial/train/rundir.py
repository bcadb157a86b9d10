"""The run folder: one trainer at a time, the run's own config, its dated changes, its shards.

    rdial train --shards corpus/shards --out run --max-steps 30 --warmup-steps 3
    rdial train --out run --resume --steps 30            # 30 more, with the run's saved config
    cat run/changes.jsonl
    # {"changes": {"max_steps": [30, 60]}, "step": 30, "time": "2026-12-03T15:20:01Z"}

`--resume` rebuilds the config from the newest checkpoint (trainer_state.pt holds the run's
effective config) and applies only the flags the caller gave. A flag in RESUMABLE_FIELDS (length
of the run, logging, eval cadence, workers, device) may take a new value, recorded as a dated
line in RUN/changes.jsonl; config.json keeps the config the run started with. Any other flag
with a new value is refused, naming it: it would change the model, the tokenizer, the data
order or the optimiser's state.

The shards' fingerprint (every part file's name, size and a hash of its first and last MiB; no
mtime, so a copied corpus matches) is saved in each checkpoint; --resume on shards that changed
stops unless --accept-changed-shards, which restarts the data stream on the new shards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import typing
from dataclasses import dataclass, replace
from pathlib import Path

from rdial.errors import ConfigError, LockedError, RdialError
from rdial.lockfile import held_lock
from rdial.publish import explain_os_error
from rdial.train.config import ONCE_FIELDS, RESUMABLE_FIELDS, TrainConfig

LOCK = ".rdial.lock"
CHANGES = "changes.jsonl"
_EDGE = 1 << 20  # bytes hashed at each end of a shard file


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; --out names the run directory (checkpoints/, "
                          f"metrics.jsonl, ...): choose a new path")


@contextlib.contextmanager
def run_lock(out: Path):
    """Hold RUN/.rdial.lock (flock) while training: a second `rdial train` on the same --out
    stops at once (LockedError, exit 75). The kernel drops the lock when the process dies."""
    check_out(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain_os_error(exc, out / LOCK) from exc
    busy = lambda holder: LockedError(  # noqa: E731
        f"--out: {out} is in use by {holder}; wait for it to finish (a killed run releases it at once)")
    with held_lock(out / LOCK, f"`rdial train` (pid {os.getpid()})", busy):
        yield


def shards_fingerprint(shards: Path) -> str:
    """Of every SHARDS/{train,valid,test}/part-*.parquet: relative name, size, first and last MiB."""
    h = hashlib.blake2b(digest_size=16)
    for split in ("train", "valid", "test"):
        for path in sorted((Path(shards) / split).glob("part-*.parquet")):
            size = path.stat().st_size
            h.update(f"{split}/{path.name}:{size}\n".encode())
            with open(path, "rb") as fh:
                h.update(fh.read(_EDGE))
                if size > 2 * _EDGE:
                    fh.seek(-_EDGE, os.SEEK_END)
                    h.update(fh.read(_EDGE))
    return h.hexdigest()


@dataclass
class Resumed:
    """What --resume decided: the effective config and what changed against the saved run."""
    cfg: TrainConfig
    changes: dict            # field -> [saved, new]
    shards_changed: bool     # accepted with --accept-changed-shards: positions start again


_BEFORE = {"pack": False}  # what a checkpoint without the field trained with
_OLD_VALUES = {"compile": {False: "auto", True: "on"}}  # --compile was a bool before 2026-12 (false: the default)

_WHAT = {"model": "the model", "dropout": "the model", "tokenizer": "the tokenizer",
         "seed": "the data order", "batch_tokens": "the data order", "max_seq_len": "the data order",
         "pack": "the batches (packed rows or not)", "seq_len": "the packed rows",
         "shuffle_rows": "the data order", "grad_accum": "the data order (lanes)",
         "reverse": "what the model learns (forward or reverse)",
         "lr": "the optimiser's state", "schedule": "the optimiser's state",
         "warmup_steps": "the optimiser's state", "weight_decay": "the optimiser's state",
         "clip": "the optimiser's state", "precision": "the optimiser's state (grad scaler, numerics)"}


def _same(a, b) -> bool:
    norm = lambda v: str(v) if isinstance(v, Path) else v  # noqa: E731
    return norm(a) == norm(b)


def _typed(name: str, value, hint, where: Path):
    """A saved config value of the field's type (JSON keeps Path as str, float as int)."""
    tp, optional = hint, False
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType")):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp, optional = args[0], True
    if value is None and optional:
        return None
    origin = typing.get_origin(tp)
    ok = {int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          bool: lambda v: isinstance(v, bool), str: lambda v: isinstance(v, str),
          Path: lambda v: isinstance(v, str)}.get(origin or tp, lambda v: True)
    if origin in (tuple, list):
        ok = lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)  # noqa: E731
    if not ok(value):
        expected = getattr(tp, "__name__", str(tp)) + (" or null" if optional else "")
        raise RdialError(f"{where}: config field {name!r} should be {expected}, found "
                         f"{type(value).__name__} {value!r}; the checkpoint is not one rdial wrote")
    return Path(value) if tp is Path else float(value) if tp is float else value


def merge_config(cfg: TrainConfig, saved: dict, *, step: int, where: Path) -> tuple[TrainConfig, dict]:
    """The run's saved config with the caller's explicit flags applied; (config, changes).

    Raises ConfigError naming the first explicit flag that a resumed run cannot change."""
    hints = typing.get_type_hints(TrainConfig)
    given = cfg.explicit()
    values, changes = {}, {}
    if "steps" in given and "max_steps" in given and cfg.given is not None:
        raise ConfigError("--steps: give --steps (more steps from the checkpoint) or --max-steps "
                          "(the step to end at), not both")
    for f in dataclasses.fields(TrainConfig):
        name, flag = f.name, "--" + f.name.replace("_", "-")
        if name in ONCE_FIELDS or name == "out":
            values[name] = getattr(cfg, name)
            continue
        if name in saved:
            value = saved[name]
            if isinstance(value, bool) and name in _OLD_VALUES:
                value = _OLD_VALUES[name][value]
            old = _typed(name, value, hints[name], where)
        else:  # a field newer than the checkpoint: the value it implied (the default, but packing
            old = _BEFORE.get(name, f.default)  # came after runs that trained without it)
        new = getattr(cfg, name)
        if name == "loader_workers" and name not in given:
            old = None  # machine-dependent: resolved again for this machine
        if name not in given or new is None or _same(old, new):
            values[name] = old
            continue
        if name not in RESUMABLE_FIELDS:
            raise ConfigError(
                f"{flag}: this run was trained with {flag} {old}; a resumed run keeps it (a new value "
                f"would change {_WHAT.get(name, 'what the run is')}); drop {flag}, or start a new run "
                f"with another --out")
        values[name] = new
        changes[name] = [_json(old), _json(new)]
    if cfg.steps:
        end = step + cfg.steps
        if end != values["max_steps"]:
            changes["max_steps"] = [_json(values["max_steps"]), end]
        values["max_steps"] = end
    values["given"] = None
    try:
        return TrainConfig(**values), changes
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise RdialError(f"{where}: unusable saved config ({exc})") from exc


def _json(value):
    return str(value) if isinstance(value, Path) else value


def record_changes(out: Path, step: int, changes: dict) -> None:
    """Append one dated line to RUN/changes.jsonl (never rewrites config.json)."""
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "step": step, "changes": changes}
    with open(Path(out) / CHANGES, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_changes(out: Path) -> list[dict]:
    path = Path(out) / CHANGES
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def without_once(cfg: TrainConfig) -> TrainConfig:
    """The config a checkpoint records: per-invocation requests cleared."""
    return replace(cfg, steps=None, accept_changed_shards=False, given=None)
