"""Replies per second: rdial's batched greedy, beam and MMI decoding against Hugging Face `generate`
called one context at a time, same model, same contexts.

    python bench/bench_generate.py                       # CPU, 64 contexts, a tiny model trained 20 steps
    python bench/bench_generate.py --contexts 64 --max-new-tokens 20 --beams 4 --candidates 8
    python bench/bench_generate.py --model RUN --reverse REV --cases mmi --contexts 16
    python bench/bench_generate.py --model RUN --device cuda

The model is a tiny GPT-2 (2 layers x 64, GPT-2's vocabulary) trained for --train-steps on
generated dialogues (or --model, any checkpoint); the contexts are the test split's. Each side
decodes the same contexts with the same settings:
  baseline  `model.generate(one context)` in a loop (what a script without batching does)
  rdial     `Generator.generate(contexts, batch_size=--batch-size)` (sorted, left-padded batches)
For MMI the baseline draws the --candidates samples of one context per call and scores each with
the reverse model one at a time; rdial samples all contexts' candidates in batches and scores
them in one forward pass per batch. Printed: replies/s of each and the ratio (target >= 5x on
CPU for 64 contexts), and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contexts", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--candidates", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--model", type=Path, default=None, help="forward run or checkpoint (default: train a tiny one)")
    p.add_argument("--reverse", type=Path, default=None, help="reverse run (default: train a tiny one)")
    p.add_argument("--cases", nargs="+", default=["greedy", "beam", "mmi"], choices=["greedy", "beam", "mmi"])
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    import torch

    from rdial.train.generate import DecodeSettings, Generator
    from rdial.train.mmi import MmiReranker
    from tests.train.sample import write_sample_shards
    from rdial.train.trainer import TrainConfig, train

    import polars as pl

    tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    shards = write_sample_shards(tmp / "shards", train=600, valid=20, test=args.contexts, files=1, seed=7)
    runs = {}
    for name, reverse in (("forward", False), ("reverse", True)):
        given = args.model if name == "forward" else args.reverse
        if given is not None:
            runs[name] = given
            continue
        train(TrainConfig(shards=shards, out=tmp / name, model="tiny", max_steps=args.train_steps,
                          batch_tokens=2048, max_seq_len=128, lr=3e-3, warmup_steps=2, eval_every=0,
                          eval_dialogues=20, save_every=0, progress=False, device="cpu", reverse=reverse))
        runs[name] = tmp / name
    rows = pl.read_parquet(shards / "test" / "*.parquet").get_column("turn_texts").to_list()
    contexts = [t[:-1] for t in rows][:args.contexts]
    gen = Generator(runs["forward"], device=args.device)
    reverse = MmiReranker(runs["reverse"], device=args.device)
    eos = gen.tokenizer.eos_id

    def one_at_a_time(settings: DecodeSettings) -> float:
        kw = settings.hf_kwargs(eos)
        start = time.perf_counter()
        for c in contexts:
            ids = torch.tensor([gen.context_ids(c, settings.max_new_tokens)], device=args.device)
            with torch.no_grad():
                out = gen.model.generate(ids, attention_mask=torch.ones_like(ids), **kw)
            if settings.sample:  # MMI baseline: score each candidate alone
                for seq in out[:, ids.shape[1]:].tolist():
                    reply = seq[:seq.index(eos)] if eos in seq else seq
                    reverse.scores([(reply, reverse.source_ids(c))])
        return len(contexts) / (time.perf_counter() - start)

    def batched(settings: DecodeSettings, mmi: bool) -> float:
        start = time.perf_counter()
        if mmi:
            reverse.rerank_all(gen, contexts, settings, candidates=args.candidates, batch_size=args.batch_size)
        else:
            gen.generate(contexts, settings, batch_size=args.batch_size)
        return len(contexts) / (time.perf_counter() - start)

    cases = [("greedy", DecodeSettings(max_new_tokens=args.max_new_tokens), False),
             ("beam", DecodeSettings(max_new_tokens=args.max_new_tokens, beams=args.beams), False),
             ("mmi", DecodeSettings(max_new_tokens=args.max_new_tokens, sample=True, top_k=50, top_p=1.0,
                                    n_best=args.candidates), True)]
    print(f"{len(contexts)} contexts, {args.max_new_tokens} new tokens, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for name, settings, mmi in cases:
        if name not in args.cases:
            continue
        base = one_at_a_time(settings)
        ours = batched(settings, mmi)
        print(f"{name:7s} one-at-a-time {base:8.1f} replies/s   rdial batched {ours:8.1f} replies/s   "
              f"ratio {ours / base:5.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
