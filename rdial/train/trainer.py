"""The training loop: build everything (checking every input first), then step until done.

    python -c "from rdial.train.trainer import TrainConfig, train
    print(train(TrainConfig(shards='corpus/shards', out='run', model='tiny', max_steps=200)))"

One optimizer step = one micro-batch from each of this rank's lanes (--grad-accum of them; see
loader.py). The loss is the sum of token losses over the whole global step divided by the
global count of loss tokens (one all-reduce of two numbers per step), so N ranks x A
accumulation steps train exactly like one rank with N*A accumulation steps.
"""

from __future__ import annotations

import contextlib
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
                               pad_vocab)
from rdial.train.schedule import LRSchedule
from rdial.train.signals import StopSignals
from rdial.train.tokenizer import load_tokenizer

__all__ = ["TrainConfig", "TrainSummary", "train"]


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
    already_finished: bool = False   # the run had ended before this invocation: nothing was changed


@dataclass
class _Data:
    tokenizer: object
    train: list
    valid: list
    test: list


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
            return _Trainer(cfg, dist, plan).run()
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


class _Trainer:
    def __init__(self, cfg: TrainConfig, dist: distributed.Distributed, plan: _Plan):
        self.cfg, self.dist, self.plan = cfg, dist, plan
        self.lanes = dist.world * cfg.grad_accum

    # --- build: every input is checked here, before the first step ---------------------------
    def run(self) -> TrainSummary:
        cfg = self.cfg
        data = self._open_data()
        state, resume_dir = self._resume_state()
        model = self._model(data.tokenizer, resume_dir)
        self.model, self.tokenizer, self.data = model, data.tokenizer, data
        self._seed(state)
        self.autocast, self.scaler = self._precision()
        self.loss_fn = self._loss_module(model)
        self.optimizer = self._optimizer(model)
        self.schedule = LRSchedule(self.optimizer, lr=cfg.lr, schedule=cfg.schedule,
                                   warmup=cfg.warmup_steps, max_steps=cfg.max_steps)
        self.step = self._restore(state) if state else 0
        self.loaders = self._loaders(data, state)
        self.metrics = None
        if self.dist.main:
            cfg.out.mkdir(parents=True, exist_ok=True)
            if state is None:  # config.json is the config the run started with; changes go beside it
                save_config(self._saved_config(), cfg.out / "config.json")
            elif self.plan.changes:
                rundir.record_changes(cfg.out, self.step, self.plan.changes)
            self.metrics = MetricsLog(cfg.out, start_step=self.step,
                                      drop_final_evals=self.step >= cfg.max_steps)
            self._announce(state)
        try:
            return self._loop()
        finally:
            if self.metrics is not None:
                self.metrics.close()

    def _open_data(self) -> _Data:
        cfg = self.cfg
        tokenizer = load_tokenizer(cfg.tokenizer)
        train_units = shard_units(split_files(cfg.shards, "train"))
        if sum(u.rows for u in train_units) < self.lanes:
            raise RdialError(f"--shards: {cfg.shards / 'train'} has fewer dialogues than lanes "
                             f"(ranks x --grad-accum = {self.lanes})")
        valid = shard_units(split_files(cfg.shards, "valid", required=False), required=False)
        test = shard_units(split_files(cfg.shards, "test", required=False), required=False)
        return _Data(tokenizer=tokenizer, train=train_units, valid=valid, test=test)

    def _resume_state(self) -> tuple[dict | None, Path | None]:
        cfg, state, newest = self.cfg, self.plan.state, self.plan.resume_dir
        if self.dist.main:
            ckpt.sweep(cfg.out)
        self.dist.barrier()
        if state is None:
            return None, None
        if state["lanes"] != self.lanes:
            raise ConfigError(f"--grad-accum: {newest} was written with {state['lanes']} lanes "
                              f"(ranks x --grad-accum); resume with ranks x --grad-accum = {state['lanes']}")
        if "shards_fingerprint" in self.plan.changes:  # accepted new shards: the stream starts again
            state = dict(state, positions={})
        return state, newest

    def _saved_config(self) -> dict:
        """The config as checkpoints and config.json record it (no per-invocation requests)."""
        saved = to_jsonable(rundir.without_once(self.cfg))
        saved.pop("given", None)
        return saved

    def _announce(self, state: dict | None) -> None:
        """Say where the run writes, where its curves are, and what a resume changed."""
        cfg, say = self.cfg, lambda m: print(f"rdial train: {m}", file=sys.stderr, flush=True)  # noqa: E731
        if state is not None:
            what = ", ".join(f"--{k.replace('_', '-')} {a} -> {b}" for k, a, b in
                             ((k, *v) for k, v in self.plan.changes.items()) if k != "shards_fingerprint")
            if "shards_fingerprint" in self.plan.changes:
                what = ", ".join(filter(None, [what, "new shards (data stream restarted)"]))
            say(f"resuming {cfg.out} at step {self.step} of {cfg.max_steps} with the run's saved config"
                + (f"; changed: {what} (recorded in {cfg.out / rundir.CHANGES})" if what else ""))
        board = cfg.out / "tensorboard"
        if self.metrics.board is not None:
            say(f"metrics in {self.metrics.path}, curves in {cfg.out / 'metrics.png'}; TensorBoard logs in "
                f"{board}: view with `tensorboard --logdir {board}`")
        else:
            say(f"metrics in {self.metrics.path}, curves in {cfg.out / 'metrics.png'}; TensorBoard is not "
                f"installed (pip install 'rdial[tensorboard]' to get logs in {board})")

    def _model(self, tokenizer, resume_dir: Path | None):
        cfg = self.cfg
        torch.manual_seed(cfg.seed)  # every rank builds the same initial weights
        spec = str(resume_dir) if resume_dir else cfg.model
        model = build_model(spec, vocab_size=tokenizer.vocab_size, max_seq_len=cfg.max_seq_len,
                            dropout=cfg.dropout, eos_id=tokenizer.eos_id)
        check_compatible(model, tokenizer, cfg.max_seq_len)
        if spec not in SIZES:
            check_tokenizer_files(Path(spec), tokenizer)
        return pad_vocab(model).to(self.dist.device).train()  # 50257 -> 50304 rows while training

    def _seed(self, state: dict | None) -> None:
        if state and state["world"] == self.dist.world:
            rng = state["rng"][self.dist.rank]
            torch.set_rng_state(rng["torch"])
            if rng.get("cuda") is not None and self.dist.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.dist.device)
        else:  # a fresh run, or a resume on another world size: dropout differs per rank anyway
            torch.manual_seed(self.cfg.seed + 1000 * self.dist.rank + (state or {}).get("step", 0))

    def _precision(self):
        precision, device = self.cfg.precision, self.dist.device
        if precision == "auto":
            precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
        self.precision = precision
        if precision == "fp32":
            return contextlib.nullcontext, None
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        return (lambda: torch.autocast(device.type, dtype=dtype)), scaler

    def _loss_module(self, model):
        loss_fn = CausalLMLoss(model)
        if self.cfg.compile:
            loss_fn = torch.compile(loss_fn, dynamic=not self.cfg.pack)  # packed: one shape
        if self.dist.active:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            loss_fn = DistributedDataParallel(loss_fn, device_ids=ids)
        return loss_fn

    def _optimizer(self, model):
        decay = [p for p in model.parameters() if p.dim() >= 2]
        plain = [p for p in model.parameters() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": self.cfg.weight_decay},
                  {"params": plain, "weight_decay": 0.0}]
        fused = self.dist.device.type == "cuda"
        return torch.optim.AdamW(groups, lr=self.cfg.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)

    def _restore(self, state: dict) -> int:
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        return int(state["step"])

    def _loaders(self, data: _Data, state: dict | None) -> list[DialogueLoader]:
        cfg = self.cfg
        first = self.dist.rank * cfg.grad_accum
        positions = (state or {}).get("positions", {})
        self.pool = worker_pool(cfg.loader_workers)  # shared by this rank's lanes
        loaders = []
        for lane in range(first, first + cfg.grad_accum):
            stream = ShardStream(data.train, lane=lane, lanes=self.lanes, seed=cfg.seed,
                                 shuffle_rows=cfg.shuffle_rows)
            position = LanePosition(**positions[str(lane)]) if str(lane) in positions else LanePosition()
            loaders.append(DialogueLoader(stream, data.tokenizer, batch_tokens=cfg.batch_tokens,
                                          max_seq_len=cfg.max_seq_len, position=position, pool=self.pool,
                                          reverse=cfg.reverse, pack_len=cfg.pack_len))
        return loaders

    # --- the loop ----------------------------------------------------------------------------
    def _loop(self) -> TrainSummary:
        cfg, dist = self.cfg, self.dist
        iterators = [iter(loader) for loader in self.loaders]
        self.positions = [loader.position for loader in self.loaders]
        window = Counter()        # sums since the last train log line (this rank)
        totals = Counter()        # sums over this invocation (this rank)
        progress = Progress(f"train from step {self.step}" if self.step else "train",
                            total=cfg.max_steps - self.step, unit="steps", enabled=cfg.progress and dist.main)
        interrupted, train_loss, train_seconds, window_seconds = None, None, 0.0, 0.0
        last_saved = self.plan.resume_dir  # a rerun with nothing to train writes no new checkpoint
        with StopSignals() as stop:
            while self.step < cfg.max_steps:
                started = time.perf_counter()
                fetched = [next(it) for it in iterators]
                micro = [batch for batch, _ in fetched]
                loss_tokens, stopping = sum(b.loss_tokens for b in micro), stop.requested
                if dist.active:  # one rank: both are known on the host, no device sync
                    flags = dist.all_reduce(torch.tensor([loss_tokens, float(stopping)], dtype=torch.float64,
                                                         device=dist.device)).tolist()
                    loss_tokens, stopping = flags[0], flags[1] > 0
                if stopping:  # some rank got SIGTERM/SIGINT: keep pre-step positions
                    interrupted = stop.received or "signal"
                    break
                loss_sum, grad_norm = self._optimizer_step(micro, loss_tokens)
                self.positions = [position for _, position in fetched]
                self.step += 1
                train_seconds += time.perf_counter() - started
                window_seconds += time.perf_counter() - started
                counts = {"loss": loss_sum, "loss_tokens": sum(b.loss_tokens for b in micro),
                          "tokens": sum(b.tokens for b in micro), "padded": sum(b.padded for b in micro),
                          "width": sum(b.tokens * b.input_ids.shape[1] for b in micro)}
                window.update(counts)
                totals.update(counts)
                progress.update(1, tok=counts["tokens"] * dist.world)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    train_loss = self._log_train(window, grad_norm, window_seconds, progress)
                    window, window_seconds = Counter(), 0.0
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                    self._log_eval("valid")
                if cfg.save_every and self.step % cfg.save_every == 0:
                    last_saved = self._save()
        for it in iterators:
            it.close()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        progress.close()
        if last_saved is None or int(last_saved.name.split("-")[1]) != self.step:
            last_saved = self._save() if self.step > 0 or interrupted else None
        valid = test = (None, None)
        if not interrupted:
            valid = self._log_eval("valid")
            test = self._log_eval("test")
        return self._summary(totals, train_seconds, interrupted, last_saved, train_loss, valid, test)

    def _optimizer_step(self, micro, global_loss_tokens: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward/backward every micro-batch, then one clipped optimizer step.

        Returns (summed loss, gradient norm) as device tensors: reading them waits for the GPU,
        so that happens only when a metrics line is written."""
        dist, device = self.dist, self.dist.device
        scale = dist.world / max(global_loss_tokens, 1.0)
        total = torch.zeros((), dtype=torch.float64, device=device)
        for i, batch in enumerate(micro):
            last = i == len(micro) - 1
            no_sync = self.loss_fn.no_sync if dist.active and not last else contextlib.nullcontext
            with no_sync():
                with self.autocast():
                    loss_sum = self.loss_fn(*(None if t is None else t.to(device, non_blocking=True)
                                              for t in (batch.input_ids, batch.labels, batch.position_ids,
                                                        batch.doc_ids)))
                scaled = loss_sum * scale
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            total += loss_sum.detach()
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        max_norm = self.cfg.clip if self.cfg.clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        return total, grad_norm

    def _log_train(self, window: Counter, grad_norm: torch.Tensor, seconds: float, progress) -> float:
        sums = self.dist.all_reduce(torch.stack([
            torch.as_tensor(window[k], dtype=torch.float64, device=self.dist.device)
            for k in ("loss", "loss_tokens", "tokens", "padded", "width")])).tolist()
        loss = sums[0] / max(sums[1], 1)
        tokens_per_s = sums[2] / max(seconds, 1e-9)  # all ranks' tokens over this rank's seconds
        mfu = self._mfu(tokens_per_s, width=sums[4] / max(sums[2], 1))
        record = {"step": self.step, "split": "train", "loss": round(loss, 5),
                  "lr": self.schedule.current(), "grad_norm": round(grad_norm.item(), 4),
                  "tokens": int(sums[2]), "padding_share": round(1 - sums[2] / max(sums[3], 1), 5),
                  "tokens_per_s": round(tokens_per_s, 1), "mfu": None if mfu is None else round(mfu, 4)}
        if self.metrics is not None:
            self.metrics.write(record)
        progress.desc = f"train loss {loss:.3f}" + ("" if mfu is None else f", MFU {100 * mfu:.1f}%")
        return loss

    def _mfu(self, tokens_per_s: float, *, width: float) -> float | None:
        """Model FLOPs utilisation by nanoGPT's estimate: (6 N + 12 L d T) FLOPs per token trained,
        N the parameters without the position table, T the mean row width (a packed row: --seq-len,
        the attention kernel runs over the whole row), against --peak-tflops (989 on CUDA)."""
        peak = self.cfg.peak_tflops or (989.0 if self.dist.device.type == "cuda" else None)
        if peak is None:
            return None
        config = self.model.config
        n = sum(p.numel() for p in self.model.parameters()) - self.model.transformer.wpe.weight.numel()
        per_token = 6 * n + 12 * config.n_layer * config.n_embd * width
        return per_token * tokens_per_s / (peak * 1e12)

    def _log_eval(self, split: str) -> tuple[float | None, float | None]:
        loss = self._evaluate(split)
        if loss is None:
            return None, None
        ppl = math.exp(min(loss, 50.0))
        if self.metrics is not None:
            self.metrics.write({"step": self.step, "split": split, "loss": round(loss, 5), "ppl": round(ppl, 3)})
        return loss, ppl

    def _evaluate(self, split: str) -> float | None:
        """Mean token loss over the split's first --eval-dialogues (None if the split is empty)."""
        cache = self.__dict__.setdefault("_eval_cache", {})
        if split not in cache:
            units = self.data.valid if split == "valid" else self.data.test
            cache[split] = eval_batches(units, self.tokenizer, rank=self.dist.rank, world=self.dist.world,
                                        limit=self.cfg.eval_dialogues, batch_tokens=self.cfg.batch_tokens,
                                        max_seq_len=self.cfg.max_seq_len, reverse=self.cfg.reverse)[0] if units else []
        loss_fn = CausalLMLoss(self.model)
        sums = torch.zeros(2, dtype=torch.float64, device=self.dist.device)
        self.model.eval()
        with torch.no_grad():
            for batch in cache[split]:
                with self.autocast():
                    sums[0] += loss_fn(batch.input_ids.to(self.dist.device), batch.labels.to(self.dist.device))
                sums[1] += batch.loss_tokens
        self.model.train()
        self.dist.all_reduce(sums)
        return None if sums[1].item() == 0 else sums[0].item() / sums[1].item()

    def _save(self) -> Path:
        """Checkpoint (collective: every rank hands its RNG and lane positions to rank 0)."""
        dist = self.dist
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(dist.device) if dist.device.type == "cuda" else None}
        first = dist.rank * self.cfg.grad_accum
        mine = {str(first + i): p.to_dict() for i, p in enumerate(self.positions)}
        gathered = dist.gather({"rng": rng, "positions": mine})
        path = ckpt.checkpoints_dir(self.cfg.out) / f"{ckpt.PREFIX}{self.step:08d}"
        if dist.main:
            positions = {k: v for g in gathered for k, v in g["positions"].items()}
            state = {"step": self.step, "world": dist.world, "lanes": self.lanes,
                     "optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
                     "scaler": self.scaler.state_dict() if self.scaler else None,
                     "rng": [g["rng"] for g in gathered], "positions": positions,
                     "config": self._saved_config(), "version": ckpt.STATE_VERSION,
                     "shards_fingerprint": self.plan.fingerprint}
            path = ckpt.save_checkpoint(self.cfg.out, self.step, self.model, self.tokenizer, state,
                                        keep=self.cfg.keep)
            if self.metrics is not None:
                self.metrics.plot()
        dist.barrier()
        return path

    def _summary(self, totals, seconds, interrupted, checkpoint, train_loss, valid, test) -> TrainSummary:
        sums = self.dist.all_reduce(torch.tensor([totals["tokens"], totals["padded"]], dtype=torch.float64,
                                                 device=self.dist.device)).tolist()
        dropped = Counter()
        for counter in self.dist.gather(dict(sum((l.dropped for l in self.loaders), Counter()))):
            dropped.update(counter)
        summary = TrainSummary(
            run_dir=str(self.cfg.out), steps=self.step, interrupted=interrupted,
            checkpoint=str(checkpoint) if checkpoint else None, train_loss=train_loss,
            valid_loss=valid[0], valid_ppl=valid[1], test_loss=test[0], test_ppl=test[1],
            tokens=int(sums[0]), tokens_per_s=round(sums[0] / max(seconds, 1e-9), 1),
            padding_share=round(1 - sums[0] / max(sums[1], 1), 5), dropped=dict(sorted(dropped.items())))
        if self.dist.main:
            atomic_write_json(self.cfg.out / "summary.json", asdict(summary), sort_keys=False)
            self.metrics.plot()
        return summary
