r"""Train a GPT-2 conversational model on the shards, the way DialoGPT did.

    rdial train --shards corpus/shards --out run --model small --max-steps 100000
    rdial train --shards corpus/shards --out run --resume             # continue after a stop
    python -m torch.distributed.run --nproc_per_node 8 -m rdial train --shards S --out run \
        --model medium --batch-tokens 16384                           # 8 GPUs (DDP, NCCL)
    rdial generate run "does anyone know a good pizza place?"         # talk to the result

Reads SHARDS/{train,valid,test}/part-*.parquet directly (no conversion step). Each dialogue is
its turns joined by <|endoftext|> and ended by it; the first turn and weight-0 turns carry no
loss; sequences over --max-seq-len keep their newest turns. Micro-batches hold --batch-tokens
tokens (padding included) of similar-length dialogues; an optimizer step takes --grad-accum
micro-batches per rank. The data order is fixed by --seed and survives --resume exactly.

Writes into --out:
  config.json        the resolved configuration
  metrics.jsonl      train loss, lr, tokens/s, padding share every --log-every steps;
                     valid loss and perplexity every --eval-every steps; test at the end
  checkpoints/step-NNNNNNNN/   Hugging Face model (safetensors) + tokenizer + trainer state,
                     the newest --keep of them; load with AutoModelForCausalLM.from_pretrained
  summary.json       steps, tokens/s, padding share, final valid/test perplexity
  tensorboard/       when tensorboard is installed

SIGTERM or Ctrl-C: the current step finishes, a checkpoint is written, and the run exits with
status 130; rerun with --resume. Exit status: 0 done; 2 bad flags or input (missing or empty
shard directory, a shard of the wrong schema, a tokenizer that does not match the model, a
corrupt checkpoint), reported before any training; 130 stopped by a signal (checkpoint saved).
"""

from __future__ import annotations

import os
import sys

from rdial.config import add_config_arguments, config_from_args
from rdial.train.config import TrainConfig

HELP = "train a GPT-2 conversational model on the shards (DialoGPT's format; DDP via torchrun)"


def add_arguments(parser) -> None:
    add_config_arguments(parser, TrainConfig)


def run(args) -> int:
    from rdial.train.trainer import train

    cfg = config_from_args(TrainConfig, args)
    summary = train(cfg)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return 130 if summary.interrupted else 0
    if summary.interrupted:
        print(f"rdial train: stopped by {summary.interrupted} at step {summary.steps}; checkpoint "
              f"{summary.checkpoint}; continue with --resume", file=sys.stderr)
        return 130
    ppl = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"rdial train: {summary.steps} steps, {summary.tokens_per_s:,.0f} tokens/s, padding "
          f"{100 * summary.padding_share:.1f}%, valid ppl {ppl(summary.valid_ppl)}, test ppl "
          f"{ppl(summary.test_ppl)}; model in {summary.checkpoint}", file=sys.stderr)
    return 0
