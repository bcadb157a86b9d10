r"""Train a GPT-2 conversational model on the shards, the way DialoGPT did.

    rdial train --shards corpus/shards --out run --model small --max-steps 100000   # on a GPU
    rdial train --shards corpus/shards --out run --max-steps 300 --warmup-steps 30  # tiny, on a CPU
    rdial train --out run --resume                                    # continue after a stop
    rdial train --out run --resume --steps 2000                       # 2000 more steps (cron)
    rdial train --out run --resume --steps 2000 --accept-changed-shards   # ... on a new month
    python -m torch.distributed.run --nproc_per_node 8 -m rdial train --shards S --out run \
        --model medium --batch-tokens 16384                           # 8 GPUs (DDP, NCCL)
    rdial generate run "does anyone know a good pizza place?"         # talk to the result

Reads SHARDS/{train,valid,test}/part-*.parquet directly (no conversion step). Each dialogue is
its turns joined by <|endoftext|> and ended by it; the first turn and weight-0 turns carry no
loss; sequences over --max-seq-len keep their newest turns. Micro-batches hold --batch-tokens
tokens: packed rows of --seq-len tokens, each dialogue attending only to itself (--pack, the
default), or similar-length dialogues one per row (--no-pack); an optimizer step takes --grad-accum
micro-batches per rank. The data order is fixed by --seed and survives --resume exactly.

Resume: --resume continues the run with the config it was started with (saved in every
checkpoint). Only these flags may be given anew, each recorded as a dated line in
RUN/changes.jsonl (config.json is never rewritten): --max-steps, --steps, --shards (same
content), --eval-every, --eval-dialogues, --save-every, --keep, --log-every, --peak-tflops,
--loader-workers,
--device, --compile, --progress, --accept-changed-shards. Any other flag with a new value (model,
tokenizer, data order, optimiser) is refused with one line naming it. Shards that changed since
the checkpoint stop the run unless --accept-changed-shards. A run already at its --max-steps is
left as it is (exit 0, says so); train on with --steps N.

Writes into --out (held with a lock: a second `rdial train` on the same --out exits 75):
  config.json        the configuration the run started with
  changes.jsonl      what each --resume changed (dated)
  metrics.jsonl      train loss, lr, tokens/s, padding share every --log-every steps;
                     valid loss and perplexity every --eval-every steps; test at the end
  checkpoints/step-NNNNNNNN/   Hugging Face model (safetensors) + tokenizer + trainer state,
                     the newest --keep of them; load with AutoModelForCausalLM.from_pretrained
  summary.json       steps, tokens/s, padding share, final valid/test perplexity
  metrics.png        train/valid loss and perplexity curves (at every checkpoint and the end)
  tensorboard/       when tensorboard is installed (pip install 'rdial[tensorboard]');
                     view with `tensorboard --logdir RUN/tensorboard`

Model sizes: tiny (2 x 64, 3.3M parameters with GPT-2's vocabulary) trains on a CPU; small,
medium and large (117M, 345M, 762M) need a GPU (small runs ~0.1 step/s on 2 CPU cores).
On CUDA a packed run is compiled by default (--compile auto: torch.compile, fullgraph, one
batch shape; the first step compiles, compile_s in metrics.jsonl), in bf16 with TF32, fused
AdamW and no host sync between log lines; --compile off runs eager.

SIGTERM or Ctrl-C: the current step finishes, a checkpoint is written, and the run exits with
status 130; rerun with --resume. Exit status: 0 done (or already done); 2 bad flags or input
(missing or empty shard directory, a shard of the wrong schema, a tokenizer that does not match
the model, a corrupt checkpoint, a flag --resume cannot change, changed shards), reported before
any training; 75 --out is in use by another `rdial train`; 130 stopped by a signal (checkpoint
saved).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from rdial.config import add_config_arguments, config_from_args
from rdial.train.config import TrainConfig

HELP = "train a GPT-2 conversational model on the shards (DialoGPT's format; DDP via torchrun)"


def add_arguments(parser) -> None:
    add_config_arguments(parser, TrainConfig)
    # A flag not given stays out of the namespace, so --resume can tell "not given" (take the
    # run's saved value) from "given" (compare it); the dataclass supplies the defaults.
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    for action in parser._actions:  # after the help texts have shown each default
        if action.dest in names:
            action.default = argparse.SUPPRESS


def config_of(args) -> TrainConfig:
    """TrainConfig from parsed args, recording which flags were given."""
    given = [f.name for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)]
    return config_from_args(TrainConfig, args, given=tuple(given))


def run(args) -> int:
    from rdial.train.trainer import train

    cfg = config_of(args)
    summary = train(cfg)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return 130 if summary.interrupted else 0
    if summary.already_finished:
        print(f"rdial train: {summary.run_dir} finished at step {summary.steps} already (its --max-steps); "
              f"left as it is (valid ppl {_ppl(summary.valid_ppl)}, test ppl {_ppl(summary.test_ppl)}); "
              f"train on with --resume --steps N", file=sys.stderr)
        return 0
    if summary.interrupted:
        print(f"rdial train: stopped by {summary.interrupted} at step {summary.steps}; checkpoint "
              f"{summary.checkpoint}; continue with --resume", file=sys.stderr)
        return 130
    print(f"rdial train: {summary.steps} steps, {summary.tokens_per_s:,.0f} tokens/s, padding "
          f"{100 * summary.padding_share:.1f}%, valid ppl {_ppl(summary.valid_ppl)}, test ppl "
          f"{_ppl(summary.test_ppl)}; model in {summary.checkpoint}", file=sys.stderr)
    return 0


def _ppl(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"
