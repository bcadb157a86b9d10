"""The training loop: build everything (checking every input first), then step until done.

    python -c "from rdial.train.trainer import TrainConfig, train
    print(train(TrainConfig(shards='corpus/shards', out='run', model='tiny', max_steps=200)))"

Read it top to bottom as nanoGPT's train.py: `train` plans the run (fresh or resumed), `_run`
builds everything (checking every input first), then loops. What the build made lives in one
`_Run`; the step, the lane positions and the running sums are the loop's local variables.

One optimizer step = one micro-batch from each of this rank's lanes (--grad-accum of them; see
loader.py). The loss is the sum of token losses over the whole global step divided by the
global count of loss tokens (with DDP one all-reduce of that count per step, left on the
device), so N ranks x A accumulation steps train exactly like one rank with N*A accumulation
steps.

Nothing reads the device in the steady state: the loss-token counts come from the batches on
the host, the loss and gradient norm stay device tensors until a --log-every line reads them,
the stop flag is a host flag (DDP: all-reduced every STOP_CHECK_EVERY steps), batches are
copied from pinned memory without blocking, and the loss needs no data-dependent indexing
(model.py: the labelled positions are an index computed on the host). With --compile the GPT-2
body is compiled (fullgraph, one graph for the packed shape); the loss stays eager.
tests/train/test_gpu_path.py counts the syncs and the graphs.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from rdial.config import save_config, to_jsonable
from rdial.errors import ConfigError, RdialError
from rdial.executor import default_workers
from rdial.progress import Progress
from rdial.publish import atomic_write_json
from rdial.train import checkpoint as ckpt
from rdial.train import distributed, rundir
from rdial.train.loader import (DialogueLoader, LanePosition, ShardStream, eval_batches, shard_units,
                                split_files, worker_pool)
from rdial.train.config import TrainConfig
from rdial.train.metrics import MetricsLog
from rdial.train.model import (SIZES, CausalLMLoss, build_model, check_compatible, check_tokenizer_files,
                               loss_index, pad_vocab)
from rdial.train.schedule import LRSchedule
from rdial.train.signals import StopSignals
from rdial.train.token_cache import ensure_cache
from rdial.train.tokenizer import load_tokenizer

__all__ = ["TrainConfig", "TrainSummary", "train"]

STOP_CHECK_EVERY = 10  # DDP: steps between all-reduces of the stop flag (one rank: every step, free)


@dataclass
class TrainSummary:
    run_dir: str
    steps: int
    interrupted: str | None          # the signal that stopped the run early, else None
    checkpoint: str | None
    train_loss: float | None         # mean over the last --log-every steps
    valid_loss: float | None
    valid_ppl: float | None
    test_loss: float | None
    test_ppl: float | None
    tokens: int                      # non-padding tokens trained on in this invocation
    tokens_per_s: float
    padding_share: float
    dropped: dict = field(default_factory=dict)
    compile_s: float | None = None   # seconds of the first (compiling) step when torch.compile was on
    already_finished: bool = False   # the run had ended before this invocation: nothing was changed


def train(cfg: TrainConfig) -> TrainSummary:
    """Train (or continue, with cfg.resume) the run in cfg.out; holds the run's lock throughout."""
    main = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 holds the run's lock
    with rundir.run_lock(cfg.out) if main else contextlib.nullcontext():
        plan = _plan(cfg)
        if plan.finished is not None:
            return plan.finished
        dist = distributed.start(plan.cfg.device)
        try:
            cfg = replace(plan.cfg, loader_workers=default_loader_workers(plan.cfg.loader_workers, dist))
            return _run(cfg, dist, plan)
        finally:
            distributed.stop(dist)


@dataclass
class _Plan:
    cfg: TrainConfig                  # the effective config (the run's own on --resume)
    state: dict | None = None         # the newest checkpoint's trainer state
    resume_dir: Path | None = None
    changes: dict = field(default_factory=dict)
    fingerprint: str = ""             # of the shards this invocation trains on
    finished: TrainSummary | None = None  # the run is done already: its summary, left as it is


def _plan(cfg: TrainConfig) -> _Plan:
    """Fresh run, or the newest checkpoint's config with the caller's flags applied (every rank
    reads the same files; `.tmp-*` leftovers are never listed as checkpoints)."""
    rundir.check_out(cfg.out)
    found = ckpt.list_checkpoints(cfg.out)
    if found and not cfg.resume:
        raise ConfigError(f"--resume: {cfg.out} already holds checkpoints ({found[-1].name}); "
                          f"pass --resume to continue with the run's saved config, or choose a new --out")
    if not found:
        cfg.check_fresh()
        fresh = replace(cfg, max_steps=cfg.steps or cfg.max_steps, steps=None, resume=False, given=None)
        return _Plan(cfg=replace(fresh, resume=cfg.resume), fingerprint=rundir.shards_fingerprint(fresh.shards))
    newest = found[-1]
    state = ckpt.load_trainer_state(newest)  # verifies every file against the manifest, then each field
    step = int(state["step"])
    merged, changes = rundir.merge_config(cfg, state["config"], step=step, where=newest / ckpt.STATE)
    if step >= merged.max_steps:
        done = _finished_summary(merged.out, newest, step)
        if done is not None:
            return _Plan(cfg=merged, finished=done)
    split_files(merged.shards, "train")  # moved or deleted shards: that error, not "changed"
    fingerprint = rundir.shards_fingerprint(merged.shards)
    saved_print = state.get("shards_fingerprint")  # absent in version-1 states: nothing to compare
    if saved_print is not None and saved_print != fingerprint:
        if not cfg.accept_changed_shards:
            raise ConfigError(
                f"--accept-changed-shards: {merged.shards} changed since {newest} was written (another "
                f"month filtered in, or other shards); pass --accept-changed-shards to train on them "
                f"(model and optimiser kept, the data stream starts again on the new shards), or "
                f"point --shards at the shards this run was trained on")
        changes["shards_fingerprint"] = [saved_print, fingerprint]
    return _Plan(cfg=merged, state=state, resume_dir=newest, changes=changes, fingerprint=fingerprint)


def _finished_summary(out: Path, newest: Path, step: int) -> TrainSummary | None:
    """The summary of a run that already ended at `step`, else None (e.g. killed in the final eval)."""
    import json

    try:
        saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("steps") != step or saved.get("interrupted"):
        return None
    names = {f.name for f in fields(TrainSummary)}
    try:
        summary = TrainSummary(**{k: v for k, v in saved.items() if k in names})
    except TypeError:
        return None
    # where the run is now (a run directory may have been moved or copied since)
    summary.run_dir, summary.checkpoint, summary.already_finished = str(out), str(newest), True
    return summary


def default_loader_workers(flag: int | None, dist: distributed.Distributed) -> int:
    """--loader-workers as given, else 4 per rank on a GPU (one loader thread per lane left an
    H200 40% short of what 4 processes feed it), at most the cores left per rank; 0 on CPU, where
    the trainer, not the loader, is the bottleneck and processes only add start-up time."""
    if flag is not None:
        return flag
    if dist.device.type != "cuda":
        return 0
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(4, default_workers() // ranks_here - 1))


def use_compile(flag: str, device: torch.device, pack: bool) -> bool:
    """--compile auto: on with CUDA and packed rows (one batch shape: one graph), else off."""
    if flag == "auto":
        return device.type == "cuda" and pack
    return flag == "on"


@dataclass
class _Run:
    """What the build section made, read by the loop and its helpers (never changed after)."""
    cfg: TrainConfig
    dist: distributed.Distributed
    plan: _Plan
    lanes: int                       # ranks x --grad-accum
    tokenizer: object
    units: dict                      # split -> [ShardUnit]
    tokens: object                   # the shards' TokenCache (rdial.train.token_cache)
    model: torch.nn.Module           # the GPT2LMHeadModel (vocabulary padded while training)
    loss_fn: torch.nn.Module         # CausalLMLoss, compiled and/or wrapped by DDP
    compiled: bool
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: object                   # GradScaler for fp16, else None
    autocast: object                 # () -> context manager
    metrics: MetricsLog | None       # rank 0 only
    eval_cache: dict = field(default_factory=dict)  # split -> batches (built on first use)


def _run(cfg: TrainConfig, dist: distributed.Distributed, plan: _Plan) -> TrainSummary:
    # --- build: every input is checked here, before the first step ---------------------------
    lanes = dist.world * cfg.grad_accum
    device = dist.device
    tokenizer = load_tokenizer(cfg.tokenizer)
    units = {"train": shard_units(split_files(cfg.shards, "train"))}
    for split in ("valid", "test"):
        units[split] = shard_units(split_files(cfg.shards, split, required=False), required=False)
    if sum(u.rows for u in units["train"]) < lanes:
        raise RdialError(f"--shards: {cfg.shards / 'train'} has fewer dialogues than lanes "
                         f"(ranks x --grad-accum = {lanes})")
    tokens = ensure_cache(cfg.shards, tokenizer, root=cfg.token_cache, fingerprint=plan.fingerprint,
                          progress=cfg.progress)  # built once, on first use
    state = _resume_state(cfg, dist, plan, lanes)

    torch.manual_seed(cfg.seed)  # every rank builds the same initial weights
    model = _build_model(cfg, tokenizer, plan.resume_dir, device)
    _seed_rng(cfg.seed, dist, state)
    precision = _precision(cfg.precision, device)
    if device.type == "cuda":  # TF32 matmuls outside autocast, unless fp32 is asked for exactly
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision != "fp32"
    autocast = contextlib.nullcontext if precision == "fp32" else functools.partial(
        torch.autocast, device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    compiled = use_compile(cfg.compile, device, cfg.pack)
    # compiled: the GPT-2 body, fullgraph; packed, one [rows, seq_len] shape: one graph
    loss_fn = CausalLMLoss(model, compile=("static" if cfg.pack else "dynamic") if compiled else None)
    if dist.active:
        from torch.nn.parallel import DistributedDataParallel

        loss_fn = DistributedDataParallel(loss_fn, device_ids=[device.index] if device.type == "cuda" else None)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    # fused: one kernel for all parameters on CUDA, and no .item() on the step count anywhere
    # (CPU: torch >= 2.4; 3-7x faster than foreach there for the tiny model, load ~10)
    fused = device.type == "cuda" or tuple(int(x) for x in torch.__version__.split(".")[:2]) >= (2, 4)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": plain, "weight_decay": 0.0}],
                                  lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)
    schedule = LRSchedule(optimizer, lr=cfg.lr, schedule=cfg.schedule, warmup=cfg.warmup_steps,
                          max_steps=cfg.max_steps)
    step = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step = int(state["step"])

    my_lanes = range(dist.rank * cfg.grad_accum, (dist.rank + 1) * cfg.grad_accum)
    saved_positions = (state or {}).get("positions", {})
    positions = [LanePosition(**saved_positions[str(lane)]) if str(lane) in saved_positions else LanePosition()
                 for lane in my_lanes]
    pool = worker_pool(cfg.loader_workers)  # shared by this rank's lanes
    loaders = [DialogueLoader(ShardStream(units["train"], lane=lane, lanes=lanes, seed=cfg.seed,
                                          shuffle_rows=cfg.shuffle_rows),
                              tokenizer, batch_tokens=cfg.batch_tokens, max_seq_len=cfg.max_seq_len,
                              position=position, pool=pool, reverse=cfg.reverse, pack_len=cfg.pack_len,
                              tokens=tokens.split_dir("train"))
               for lane, position in zip(my_lanes, positions)]

    metrics = None
    if dist.main:
        cfg.out.mkdir(parents=True, exist_ok=True)
        if state is None:  # config.json is the config the run started with; changes go beside it
            save_config(_saved_config(cfg), cfg.out / "config.json")
        elif plan.changes:
            rundir.record_changes(cfg.out, step, plan.changes)
        metrics = MetricsLog(cfg.out, start_step=step, drop_final_evals=step >= cfg.max_steps)
        _announce(cfg, plan, metrics, step, resumed=state is not None, compiled=compiled)
    run = _Run(cfg=cfg, dist=dist, plan=plan, lanes=lanes, tokenizer=tokenizer, units=units, tokens=tokens,
               model=model,
               loss_fn=loss_fn, compiled=compiled, optimizer=optimizer, schedule=schedule, scaler=scaler,
               autocast=autocast, metrics=metrics)

    # --- the loop ------------------------------------------------------------------------------
    iterators = [iter(loader) for loader in loaders]
    window, totals = Counter(), Counter()  # sums since the last train log line / this invocation (this rank)
    progress = Progress(f"train from step {step}" if step else "train", total=cfg.max_steps - step,
                        unit="steps", enabled=cfg.progress and dist.main)
    interrupted, train_loss, compile_s, compile_logged = None, None, None, False
    train_seconds = window_seconds = 0.0
    last_saved = plan.resume_dir  # a rerun with nothing to train writes no new checkpoint
    try:
        with StopSignals() as stop:
            while step < cfg.max_steps:
                started = time.perf_counter()
                fetched = [next(it) for it in iterators]
                micro = [batch for batch, _ in fetched]
                if _stop_requested(stop, dist, step):  # keep the pre-step positions
                    interrupted = stop.received or "signal"
                    break
                loss_sum, grad_norm = _optimizer_step(run, micro)
                positions = [position for _, position in fetched]
                step += 1
                seconds = time.perf_counter() - started
                if compiled and compile_s is None:  # the first call compiles forward and backward
                    compile_s = round(seconds, 2)
                train_seconds += seconds
                window_seconds += seconds
                counts = {"loss": loss_sum, "loss_tokens": sum(b.loss_tokens for b in micro),
                          "tokens": sum(b.tokens for b in micro), "padded": sum(b.padded for b in micro),
                          "width": sum(b.tokens * b.input_ids.shape[1] for b in micro)}
                window.update(counts)
                totals.update(counts)
                progress.update(1, tok=counts["tokens"] * dist.world)
                if step % cfg.log_every == 0 or step == cfg.max_steps:  # the only reads of the device
                    train_loss = _log_train(run, step, window, grad_norm, window_seconds, progress,
                                            None if compile_logged else compile_s)  # on the first line only
                    window, window_seconds, compile_logged = Counter(), 0.0, compile_s is not None
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                    _log_eval(run, step, "valid")
                if cfg.save_every and step % cfg.save_every == 0:
                    last_saved = _save(run, step, positions)
        for it in iterators:
            it.close()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        progress.close()
        if last_saved is None or int(last_saved.name.split("-")[1]) != step:
            last_saved = _save(run, step, positions) if step > 0 or interrupted else None
        valid = test = (None, None)
        if not interrupted:
            valid = _log_eval(run, step, "valid")
            test = _log_eval(run, step, "test")
        return _summary(run, step, loaders, totals, train_seconds, interrupted, last_saved, train_loss,
                        valid, test, compile_s)
    finally:
        if metrics is not None:
            metrics.close()


# --- build helpers ----------------------------------------------------------------------------
def _resume_state(cfg: TrainConfig, dist: distributed.Distributed, plan: _Plan, lanes: int) -> dict | None:
    """The checkpoint's trainer state (after sweeping half-written checkpoints), or None."""
    if dist.main:
        ckpt.sweep(cfg.out)
    dist.barrier()
    state = plan.state
    if state is None:
        return None
    if state["lanes"] != lanes:
        raise ConfigError(f"--grad-accum: {plan.resume_dir} was written with {state['lanes']} lanes "
                          f"(ranks x --grad-accum); resume with ranks x --grad-accum = {state['lanes']}")
    if "shards_fingerprint" in plan.changes:  # accepted new shards: the stream starts again
        state = dict(state, positions={})
    return state


def _build_model(cfg: TrainConfig, tokenizer, resume_dir: Path | None, device: torch.device):
    spec = str(resume_dir) if resume_dir else cfg.model
    model = build_model(spec, vocab_size=tokenizer.vocab_size, max_seq_len=cfg.max_seq_len,
                        dropout=cfg.dropout, eos_id=tokenizer.eos_id)
    check_compatible(model, tokenizer, cfg.max_seq_len)
    if spec not in SIZES:
        check_tokenizer_files(Path(spec), tokenizer)
    return pad_vocab(model).to(device).train()  # 50257 -> 50304 rows while training


def _seed_rng(seed: int, dist: distributed.Distributed, state: dict | None) -> None:
    if state and state["world"] == dist.world:
        rng = state["rng"][dist.rank]
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and dist.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], dist.device)
    else:  # a fresh run, or a resume on another world size: dropout differs per rank anyway
        torch.manual_seed(seed + 1000 * dist.rank + (state or {}).get("step", 0))


def _precision(flag: str, device: torch.device) -> str:
    if flag == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return flag


def _saved_config(cfg: TrainConfig) -> dict:
    """The config as checkpoints and config.json record it (no per-invocation requests)."""
    saved = to_jsonable(rundir.without_once(cfg))
    saved.pop("given", None)
    return saved


def _announce(cfg: TrainConfig, plan: _Plan, metrics: MetricsLog, step: int, *, resumed: bool,
              compiled: bool) -> None:
    """Say where the run writes, where its curves are, and what a resume changed."""
    if resumed:
        what = ", ".join(f"--{k.replace('_', '-')} {a} -> {b}" for k, (a, b) in plan.changes.items()
                         if k != "shards_fingerprint")
        if "shards_fingerprint" in plan.changes:
            what = ", ".join(filter(None, [what, "new shards (data stream restarted)"]))
        _say(f"resuming {cfg.out} at step {step} of {cfg.max_steps} with the run's saved config"
             + (f"; changed: {what} (recorded in {cfg.out / rundir.CHANGES})" if what else ""))
    board = cfg.out / "tensorboard"
    if metrics.board is not None:
        _say(f"metrics in {metrics.path}, curves in {cfg.out / 'metrics.png'}; TensorBoard logs in "
             f"{board}: view with `tensorboard --logdir {board}`")
    else:
        _say(f"metrics in {metrics.path}, curves in {cfg.out / 'metrics.png'}; TensorBoard is not "
             f"installed (pip install 'rdial[tensorboard]' to get logs in {board})")
    if compiled:
        _say("torch.compile on" + (f" (fullgraph, one [{cfg.batch_tokens // cfg.pack_len}, {cfg.pack_len}] "
                                   f"batch shape)" if cfg.pack else " (dynamic shapes)")
             + "; the first step compiles (compile_s in metrics.jsonl)")


def _say(message: str) -> None:
    print(f"rdial train: {message}", file=sys.stderr, flush=True)


# --- loop helpers -----------------------------------------------------------------------------
def _stop_requested(stop: StopSignals, dist: distributed.Distributed, step: int) -> bool:
    """One rank: its own host flag, every step. DDP: every rank must stop at the same step, so
    the flags are all-reduced (a device read) only every STOP_CHECK_EVERY steps."""
    if not dist.active:
        return stop.requested
    if step % STOP_CHECK_EVERY:
        return False
    flag = torch.tensor([float(stop.requested)], dtype=torch.float64, device=dist.device)
    return dist.all_reduce(flag).item() > 0


def _device_inputs(batch, device: torch.device) -> tuple:
    """CausalLMLoss's inputs on the device, with the loss positions computed on the host (only
    those go through the output layer): pinned host memory, copies that do not block (CUDA)."""
    tensors = (batch.input_ids, batch.labels, batch.position_ids, batch.doc_ids, loss_index(batch.labels))
    if device.type != "cuda":
        return tensors
    return tuple(None if t is None else t.pin_memory().to(device, non_blocking=True) for t in tensors)


def _optimizer_step(run: _Run, micro: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward/backward every micro-batch, then one clipped optimizer step.

    Returns (summed loss, gradient norm) as device tensors: reading them waits for the GPU,
    so that happens only when a metrics line is written."""
    dist, device = run.dist, run.dist.device
    loss_tokens = sum(b.loss_tokens for b in micro)  # known on the host: no device read
    if dist.active:  # the global count, left on the device (DDP averages gradients over ranks)
        count = torch.tensor(float(loss_tokens), dtype=torch.float64, device=device)
        scale = dist.world / dist.all_reduce(count).clamp_min(1.0)
    else:
        scale = 1.0 / max(loss_tokens, 1)
    total = torch.zeros((), dtype=torch.float64, device=device)
    for i, batch in enumerate(micro):
        last = i == len(micro) - 1
        no_sync = run.loss_fn.no_sync if dist.active and not last else contextlib.nullcontext
        with no_sync():
            with run.autocast():
                loss_sum = run.loss_fn(*_device_inputs(batch, device))
            scaled = loss_sum * scale
            (run.scaler.scale(scaled) if run.scaler else scaled).backward()
        total += loss_sum.detach()
    if run.scaler is not None:
        run.scaler.unscale_(run.optimizer)
    max_norm = run.cfg.clip if run.cfg.clip > 0 else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), max_norm)
    if run.scaler is not None:  # fp16 only: the scaler reads its inf check (a sync per step)
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.schedule.step()
    return total, grad_norm


def _log_train(run: _Run, step: int, window: Counter, grad_norm: torch.Tensor, seconds: float, progress,
               compile_s: float | None) -> float:
    dist = run.dist
    sums = dist.all_reduce(torch.stack([
        torch.as_tensor(window[k], dtype=torch.float64, device=dist.device)
        for k in ("loss", "loss_tokens", "tokens", "padded", "width")])).tolist()
    loss = sums[0] / max(sums[1], 1)
    tokens_per_s = sums[2] / max(seconds, 1e-9)  # all ranks' tokens over this rank's seconds
    mfu = _mfu(run, tokens_per_s, width=sums[4] / max(sums[2], 1), loss_share=sums[1] / max(sums[2], 1))
    record = {"step": step, "split": "train", "loss": round(loss, 5),
              "lr": run.schedule.current(), "grad_norm": round(grad_norm.item(), 4),
              "tokens": int(sums[2]), "loss_tokens": int(sums[1]), "padding_share": round(1 - sums[2] / max(sums[3], 1), 5),
              "tokens_per_s": round(tokens_per_s, 1), "mfu": None if mfu is None else round(mfu, 6)}
    if compile_s is not None:
        record["compile_s"] = compile_s
    if run.metrics is not None:
        run.metrics.write(record)
    progress.desc = (f"train loss {loss:.3f}" + ("" if mfu is None else f", MFU {100 * mfu:.1f}%")
                     + ("" if compile_s is None else f", compile {compile_s:.0f} s"))
    return loss


def _mfu(run: _Run, tokens_per_s: float, *, width: float, loss_share: float) -> float | None:
    """Model FLOPs utilisation (PaLM's convention, nanoGPT's 6 N + 12 L d T) for the FLOPs this
    trainer needs: 6 x the block weights and 12 L d T of attention scores per real token (T the
    mean row width: --seq-len when packed, the attention kernel runs over the whole row), and 6 x
    the output layer only for the share of tokens that carry a loss (only those are projected
    through it: `loss_index`), against --peak-tflops (989 on CUDA)."""
    peak = run.cfg.peak_tflops or (989.0 if run.dist.device.type == "cuda" else None)
    if peak is None:
        return None
    model = run.model
    embeddings = model.transformer.wpe.weight.numel() + model.transformer.wte.weight.numel()
    head = model.lm_head.weight.numel()  # tied to wte in GPT-2; a lookup costs no FLOPs
    tied = model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    blocks = sum(p.numel() for p in model.parameters()) - embeddings - (0 if tied else head)
    per_token = (6 * blocks + 12 * model.config.n_layer * model.config.n_embd * width
                 + 6 * head * loss_share)
    return per_token * tokens_per_s / (peak * 1e12)


def _log_eval(run: _Run, step: int, split: str) -> tuple[float | None, float | None]:
    if split not in run.eval_cache:
        units, cfg, dist = run.units[split], run.cfg, run.dist
        run.eval_cache[split] = eval_batches(
            units, run.tokenizer, rank=dist.rank, world=dist.world, limit=cfg.eval_dialogues,
            batch_tokens=cfg.batch_tokens, max_seq_len=cfg.max_seq_len, reverse=cfg.reverse,
            pack_len=cfg.pack_len, tokens=run.tokens.split_dir(split))[0] if units else []
    loss = evaluate(run.model, run.eval_cache[split], run.dist, run.autocast)
    if loss is None:
        return None, None
    ppl = math.exp(min(loss, 50.0))
    if run.metrics is not None:
        run.metrics.write({"step": step, "split": split, "loss": round(loss, 5), "ppl": round(ppl, 3)})
    return loss, ppl


def evaluate(model, batches: list, dist: distributed.Distributed, autocast=contextlib.nullcontext) -> float | None:
    """Mean token loss of `batches` over all ranks (None without loss tokens). Eager, even in a
    compiled run: eval mode and no_grad would be a second graph; the batches are packed like
    the training ones (the same loss as unpacked, tests/train/test_gpu_path.py)."""
    loss_fn = CausalLMLoss(model)
    sums = torch.zeros(2, dtype=torch.float64, device=dist.device)
    model.eval()
    with torch.no_grad():
        for batch in batches:
            with autocast():
                sums[0] += loss_fn(*_device_inputs(batch, dist.device))
            sums[1] += batch.loss_tokens
    model.train()
    dist.all_reduce(sums)
    total, count = sums.tolist()
    return None if count == 0 else total / count


def _save(run: _Run, step: int, positions: list[LanePosition]) -> Path:
    """Checkpoint (collective: every rank hands its RNG and lane positions to rank 0)."""
    dist, cfg = run.dist, run.cfg
    rng = {"torch": torch.get_rng_state(),
           "cuda": torch.cuda.get_rng_state(dist.device) if dist.device.type == "cuda" else None}
    first = dist.rank * cfg.grad_accum
    mine = {str(first + i): p.to_dict() for i, p in enumerate(positions)}
    gathered = dist.gather({"rng": rng, "positions": mine})
    path = ckpt.checkpoints_dir(cfg.out) / f"{ckpt.PREFIX}{step:08d}"
    if dist.main:
        state = {"step": step, "world": dist.world, "lanes": run.lanes,
                 "optimizer": run.optimizer.state_dict(), "schedule": run.schedule.state_dict(),
                 "scaler": run.scaler.state_dict() if run.scaler else None,
                 "rng": [g["rng"] for g in gathered],
                 "positions": {k: v for g in gathered for k, v in g["positions"].items()},
                 "config": _saved_config(cfg), "version": ckpt.STATE_VERSION,
                 "shards_fingerprint": run.plan.fingerprint}
        path = ckpt.save_checkpoint(cfg.out, step, run.model, run.tokenizer, state, keep=cfg.keep)
        if run.metrics is not None:
            run.metrics.plot()
    dist.barrier()
    return path


def _summary(run: _Run, step: int, loaders: list, totals: Counter, seconds: float, interrupted: str | None,
             checkpoint: Path | None, train_loss: float | None, valid: tuple, test: tuple,
             compile_s: float | None) -> TrainSummary:
    dist = run.dist
    sums = dist.all_reduce(torch.tensor([totals["tokens"], totals["padded"]], dtype=torch.float64,
                                        device=dist.device)).tolist()
    dropped = Counter()
    for counter in dist.gather(dict(sum((loader.dropped for loader in loaders), Counter()))):
        dropped.update(counter)
    summary = TrainSummary(
        run_dir=str(run.cfg.out), steps=step, interrupted=interrupted,
        checkpoint=str(checkpoint) if checkpoint else None, train_loss=train_loss,
        valid_loss=valid[0], valid_ppl=valid[1], test_loss=test[0], test_ppl=test[1],
        tokens=int(sums[0]), tokens_per_s=round(sums[0] / max(seconds, 1e-9), 1),
        padding_share=round(1 - sums[0] / max(sums[1], 1), 5), dropped=dict(sorted(dropped.items())),
        compile_s=compile_s)
    if dist.main:
        atomic_write_json(run.cfg.out / "summary.json", asdict(summary), sort_keys=False)
        run.metrics.plot()
    return summary
