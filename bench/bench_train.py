"""`rdial train` against a Hugging Face `Trainer` baseline on the same model, data and batch size.

    python bench/bench_train.py                  # CPU, a few minutes
    python bench/bench_train.py --steps 40 --rounds 2
    python bench/bench_train.py --loader-only    # the loader: on the fly against the token cache
    python bench/bench_train.py --gpu-dry-run    # run the GPU section's code on CPU (tiny, 2 steps)
    python bench/bench_train.py --gpu-only       # on a CUDA machine: only the GPU section
    python bench/bench_train.py --gpu-only --gpu-compile both   # compiled and eager, packed and unpacked

Both sides train the same randomly initialised GPT-2 (4 layers x 128, GPT-2's vocabulary) on
the same generated shards (2-4 turn dialogues of 10-90 tokens), with about the same real
(non-padding) tokens per optimizer step:
  baseline  `datasets` reads the Parquet shards, a `map` tokenizes DialoGPT's format,
            DataCollatorForLanguageModeling(mlm=False) pads each batch to its longest, `Trainer`
            (AdamW, fp32, CPU), per_device_train_batch_size = --baseline-batch sequences.
  rdial     `train()` with --batch-tokens set so that a step holds the same real tokens.
Printed: real tokens/s of each and the ratio, padding share of each, real tokens per step of
each (to show the batches match), and the rdial loader alone (tokens/s when nothing consumes
them) against the trainer's consumption. Targets: >= 3x (packed), padding < 5%, loader >= 10x.
Then the loader alone on the fly against the token cache (rdial/train/token_cache.py), unpacked
and packed, over the same epoch in the same run: rows/s, real tokens/s and their ratio, and the
cache's one-off build time and size per million tokens (--loader-only: only this).

With CUDA (or --gpu-only), a GPU section trains GPT-2 small and medium in bf16 through
`train()` on --gpu-dialogues generated dialogues, packed and unpacked in the same run, for each
--gpu-workers (loader processes per rank; 0 = one loader thread) and --gpu-compile setting
(auto, the trainer's default: compiled when packed, eager when unpacked), and prints per run:
steady real tokens/s (the log windows after the first, so cuBLAS set-up and compilation stay
out), the compile time (the first step of a compiled run, `compile_s`), the seconds of the
first window, model FLOPs utilisation (MFU = model FLOPs per second / the GPU's
dense bf16 peak, 989 TFLOP/s on an H100/H200 by the datasheet; FLOPs per token from the
measured mean row width and loss share of the batches), and peak GPU memory (allocated and
reserved by PyTorch). The final checkpoint is not written (its time is not in tokens/s either).
Measured once on one H200 before packing and the compiled path (torch 2.11.0+cu130, 2026-11-28):
GPT-2 small 245,438 real tokens/s with --loader-workers 4 (MFU 14.3%), medium 96,925 (18.7%);
the packed, compiled figures are still to be measured (bash bench/gpu_check.sh; docs/train.md).
The machine is shared: other jobs run beside the benchmark, so compare the ratio, not the
absolute figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rdial.train.loader import DialogueLoader, ShardStream, build_window, shard_units, split_files  # noqa: E402
from tests.train.sample import write_sample_shards  # noqa: E402
from rdial.train.tokenizer import load_tokenizer  # noqa: E402
from rdial.train.trainer import TrainConfig, train  # noqa: E402

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}


def make_model(directory: Path, n_layer=4, n_embd=128, n_head=4, seed=0) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=50257, n_positions=1024, n_layer=n_layer, n_embd=n_embd, n_head=n_head,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False)
    GPT2LMHeadModel(config).save_pretrained(directory)
    load_tokenizer().save(directory)
    return directory


# --- the baseline ------------------------------------------------------------------------------
class CountingCollator:
    """DataCollatorForLanguageModeling(mlm=False), counting real and padded tokens."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorForLanguageModeling

        self.inner = DataCollatorForLanguageModeling(tokenizer, mlm=False)
        self.tokens = self.padded = self.batches = 0

    def __call__(self, features):
        batch = self.inner(features)
        self.tokens += int(batch["attention_mask"].sum())
        self.padded += batch["input_ids"].numel()
        self.batches += 1
        return batch


def baseline(shards: Path, model_dir: Path, work: Path, *, steps: int, batch: int, max_len: int) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    tok = load_tokenizer().hf
    tok.pad_token = tok.eos_token
    files = [str(p) for p in sorted((shards / "train").glob("part-*.parquet"))]
    data = datasets.load_dataset("parquet", data_files={"train": files}, split="train",
                                 cache_dir=str(work / "hf-cache"))

    def tokenize(rows):
        texts = [tok.eos_token.join(turns) + tok.eos_token for turns in rows["turn_texts"]]
        return tok(texts, truncation=True, max_length=max_len)

    data = data.map(tokenize, batched=True, remove_columns=data.column_names)
    collator = CountingCollator(tok)
    args = TrainingArguments(output_dir=str(work / "hf-out"), per_device_train_batch_size=batch,
                             max_steps=steps, learning_rate=1e-4, warmup_steps=0, lr_scheduler_type="constant",
                             logging_strategy="no", save_strategy="no", eval_strategy="no", report_to=[],
                             disable_tqdm=True, use_cpu=not torch.cuda.is_available(), seed=0,
                             dataloader_num_workers=0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=data)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return {"tokens_per_s": collator.tokens / seconds, "padding": 1 - collator.tokens / collator.padded,
            "tokens_per_step": collator.tokens / steps, "seconds": seconds,
            "mean_len": sum(len(x) for x in data["input_ids"]) / len(data)}


# --- rdial ----------------------------------------------------------------------------------------
def rdial_run(shards: Path, model: str, out: Path, *, steps: int, batch_tokens: int, max_len: int,
              precision: str = "fp32", device: str = "auto", log_every: int = 0, loader_workers: int = 0,
              compile: str = "auto", pack: bool = True, seq_len: int | None = None) -> dict:
    summary = train(TrainConfig(pack=pack, seq_len=seq_len if pack else None, shards=shards, out=out, model=model, max_steps=steps, batch_tokens=batch_tokens,
                                max_seq_len=max_len, lr=1e-4, warmup_steps=0, schedule="constant", dropout=0.0,
                                eval_every=0, save_every=0, log_every=log_every or max(1, steps // 4),
                                precision=precision, device=device, progress=False, shuffle_rows=20000,
                                loader_workers=loader_workers, compile=compile))
    return {"tokens_per_s": summary.tokens_per_s, "padding": summary.padding_share,
            "tokens_per_step": summary.tokens / summary.steps, "loss": summary.train_loss,
            "compile_s": summary.compile_s}


def loader_alone(shards: Path, *, batch_tokens: int, max_len: int, pack_len: int = 0, tokens: str = "") -> dict:
    """Rows/s and real tokens/s of one lane's loader over one epoch, in one thread, consumed by
    nothing: on the fly (read Parquet, tokenize, encode, bucket or pack, collate) or, with
    `tokens` (a split's token-cache directory), from the memory-mapped cache (encode, bucket or
    pack, collate)."""
    units = shard_units(split_files(shards, "train"))
    stream = ShardStream(units, lane=0, lanes=1, seed=0, shuffle_rows=20000)
    tokenizer = None if tokens else load_tokenizer()
    loader = DialogueLoader(stream, tokenizer, batch_tokens=batch_tokens, max_seq_len=max_len,
                            pack_len=pack_len, tokens=tokens)
    started, n, rows = time.perf_counter(), 0, 0
    for job, _ in loader.jobs():
        if job.epoch > 0:
            break
        batches, _, read = build_window(job, tokenizer, {})
        n += sum(b.tokens for b in batches)
        rows += read
    seconds = time.perf_counter() - started
    return {"tokens_per_s": n / seconds, "rows_per_s": rows / seconds, "tokens": n, "rows": rows}


def loader_comparison(shards: Path, *, batch_tokens: int, max_len: int, rounds: int = 3) -> dict:
    """The loader on the fly against the token cache, unpacked and packed, same epoch, same run;
    the cache's one-off build time and size; the best of `rounds` alternating passes each."""
    import shutil

    from rdial.train.token_cache import ensure_cache

    root = shards.parent / "bench-tokens"
    shutil.rmtree(root, ignore_errors=True)
    tokenizer = load_tokenizer()
    started = time.perf_counter()
    cache = ensure_cache(shards, tokenizer, root=root, progress=False, say=lambda m: None)
    build_s = time.perf_counter() - started
    tokens, size = cache.manifest["tokens"], cache.manifest["bytes"]
    print(f"\ntoken cache: built in {build_s:.2f} s ({tokens / build_s:,.0f} tokens/s, once), {tokens:,} tokens, "
          f"{size / 2**20:.2f} MiB = {size / tokens * 1e6 / 2**20:.2f} MiB per million tokens")
    figures = {"build_s": build_s, "cache_tokens": tokens, "cache_bytes": size,
               "mib_per_million_tokens": size / tokens * 1e6 / 2**20}
    for label, pack_len in (("unpacked", 0), (f"packed {max_len}", max_len)):
        best = {}
        for _ in range(rounds):
            for side, where in (("fly", ""), ("cached", cache.split_dir("train"))):
                r = loader_alone(shards, batch_tokens=batch_tokens, max_len=max_len, pack_len=pack_len, tokens=where)
                if side not in best or r["tokens_per_s"] > best[side]["tokens_per_s"]:
                    best[side] = r
        fly, cached = best["fly"], best["cached"]
        assert fly["tokens"] == cached["tokens"] and fly["rows"] == cached["rows"]
        ratio = cached["tokens_per_s"] / fly["tokens_per_s"]
        print(f"loader {label}: on the fly {fly['rows_per_s']:,.0f} rows/s, {fly['tokens_per_s']:,.0f} real tokens/s; "
              f"token cache {cached['rows_per_s']:,.0f} rows/s, {cached['tokens_per_s']:,.0f} real tokens/s; "
              f"ratio {ratio:.2f}x (same {fly['tokens']:,} tokens of {fly['rows']:,} rows)")
        figures[label.split()[0]] = {"fly": fly, "cached": cached, "ratio": ratio}
    return figures


# --- GPU --------------------------------------------------------------------------------------
def model_flops_per_token(n_layer: int, n_embd: int, seq: float, vocab: int, loss_share: float) -> float:
    """Training FLOPs per real token (PaLM's convention, 6N + 12 L d T): 6 x the block weights,
    plus the attention scores, plus the output layer for the tokens that reach it (rdial
    projects only labelled positions through it)."""
    blocks = 12 * n_layer * n_embd ** 2              # weights of the transformer blocks
    attention = 12 * n_layer * n_embd * seq          # QK^T and AV, forward and backward
    return 6 * blocks + attention + 6 * n_embd * vocab * loss_share


def batch_shape(shards: Path, *, batch_tokens: int, max_len: int, pack_len: int = 0) -> dict:
    """Over one epoch of lane 0's batches: the token-weighted mean row width (the T of the
    attention term; rows are padded to it) and the share of real tokens that carry a loss."""
    units = shard_units(split_files(shards, "train"))
    stream = ShardStream(units, lane=0, lanes=1, seed=0, shuffle_rows=20000)
    loader = DialogueLoader(stream, load_tokenizer(), batch_tokens=batch_tokens, max_seq_len=max_len,
                            pack_len=pack_len)
    tokens = width = loss_tokens = 0  # (on the fly: the same batches as the cache gives)
    for job, _ in loader.jobs():
        if job.epoch > 0:
            break
        batches, _, _ = build_window(job, loader.tokenizer, {})
        for b in batches:
            tokens += b.tokens
            width += b.tokens * b.input_ids.shape[1]
            loss_tokens += b.loss_tokens
    return {"width": width / tokens, "loss_share": loss_tokens / tokens}


def steady_rate(run: Path) -> tuple[float, float, float | None]:
    """(real tokens/s over the train log windows after the first, seconds of the first window,
    the trainer's own logged MFU (the same formula on its logged loss_tokens) over those windows)."""
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train_lines = [m for m in lines if m["split"] == "train"]
    windows = [(m["tokens"], m["tokens"] / m["tokens_per_s"], m.get("mfu")) for m in train_lines]
    first, rest = windows[0], windows[1:] or windows
    seconds = sum(s for _, s, _ in rest)
    mfu = None if any(m is None for _, _, m in rest) else sum(m * s for _, s, m in rest) / seconds
    return sum(t for t, _, _ in rest) / seconds, first[1], mfu


def gpu_section(shards: Path, work: Path, *, dry_run: bool, steps: int, workers: list[int],
                compile_modes: list[str], sizes: list[str], pack_modes: list[bool]) -> list[dict]:
    from rdial.train import trainer as trainer_module
    from rdial.train.model import SIZES

    # The final checkpoint (seconds for medium: weights, optimizer state, hashes) is not what
    # this section measures; skip it to save GPU time.
    trainer_module._save = lambda run, step, positions: None
    sizes = ["tiny"] if dry_run else sizes
    device = "cpu" if dry_run else "cuda"
    name = "cpu (dry run)" if dry_run else torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    cuda = device == "cuda"
    print(f"\nGPU section on {name} (bf16 autocast, TF32, SDPA, fused AdamW; torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}){'' if peak else '; peak unknown, no MFU'}; {steps} steps per run, "
          f"log window {max(1, steps // 4)} steps", flush=True)
    results = []
    for size in sizes:
        batch_tokens = 4096 if dry_run else {"small": 65536, "medium": 32768, "large": 16384}[size]
        n_layer, n_embd, _ = SIZES[size]
        for pack, compile_on, w in [(p, c, w) for p in pack_modes for c in compile_modes for w in workers]:
            # attention FLOPs follow the row width: 1024 packed (the block mask's skipped
            # blocks still cost SDPA's masked kernel), the bucket's longest unpacked
            shape = batch_shape(shards, batch_tokens=batch_tokens, max_len=256,
                                pack_len=min(1024, batch_tokens) if pack else 0)
            per_token = model_flops_per_token(n_layer, n_embd, shape["width"], 50257, shape["loss_share"])
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            out = work / f"gpu-{size}-p{int(pack)}-c{compile_on}-w{w}"
            started = time.perf_counter()
            result = rdial_run(shards, size, out, steps=2 if dry_run else steps, batch_tokens=batch_tokens,
                               max_len=256, precision="bf16", device=device, log_every=1 if dry_run else 0,
                               loader_workers=w, compile=compile_on, pack=pack)
            rate, first, trainer_mfu = steady_rate(out)
            mfu = 100 * per_token * rate / (peak * 1e12) if peak else None
            mem = (torch.cuda.max_memory_allocated() / 2**30, torch.cuda.max_memory_reserved() / 2**30) \
                if cuda else (0.0, 0.0)
            compiled = result["compile_s"] is not None
            row = {"size": size, "pack": pack, "compile": compile_on, "compiled": compiled, "loader_workers": w,
                   "batch_tokens": batch_tokens, "tokens_per_s": rate, "compile_s": result["compile_s"],
                   "first_window_s": first, "mfu_percent": mfu,
                   "trainer_mfu_percent": None if trainer_mfu is None else 100 * trainer_mfu,
                   "flops_per_token": per_token, "mean_width": shape["width"],
                   "loss_share": shape["loss_share"], "padding": result["padding"],
                   "peak_alloc_gib": mem[0], "peak_reserved_gib": mem[1], "loss": result["loss"],
                   "wall_s": time.perf_counter() - started}
            results.append(row)
            print(f"  gpt2-{size} {'packed' if pack else 'unpacked'} --compile {compile_on} "
                  f"({'compiled in ' + format(result['compile_s'], '.1f') + ' s' if compiled else 'eager'}) "
                  f"loader-workers={w} batch-tokens={batch_tokens}: {rate:,.0f} real tokens/s steady"
                  f"{f', MFU {mfu:.1f}%' if mfu is not None else ''}"
                  f"{f' (metrics.jsonl: {100 * trainer_mfu:.1f}%)' if trainer_mfu is not None else ''}"
                  f", first window {first:.1f} s, "
                  f"peak memory {mem[0]:.1f} GiB allocated / {mem[1]:.1f} GiB reserved, padding "
                  f"{100 * result['padding']:.1f}%, loss {result['loss']:.3f}, "
                  f"{per_token / 1e9:.2f} GFLOP/token (width {shape['width']:.0f}, loss share "
                  f"{shape['loss_share']:.2f}), run {row['wall_s']:.0f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--baseline-batch", type=int, default=32, help="sequences per baseline step")
    parser.add_argument("--dialogues", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=1, help="alternate baseline and rdial this many times")
    parser.add_argument("--gpu-dry-run", action="store_true", help="run the GPU section on CPU with a tiny model")
    parser.add_argument("--gpu-only", action="store_true", help="skip the CPU comparison; needs CUDA")
    parser.add_argument("--gpu-steps", type=int, default=40)
    parser.add_argument("--gpu-dialogues", type=int, default=40000, help="generated dialogues of the GPU section")
    parser.add_argument("--gpu-sizes", default="small,medium", help="comma-separated model sizes")
    parser.add_argument("--gpu-workers", default="4", help="comma-separated --loader-workers values")
    parser.add_argument("--gpu-compile", choices=("auto", "off", "on", "both"), default="auto",
                        help="auto: the trainer's default (compiled when packed); both: on and off")
    parser.add_argument("--gpu-pack", choices=("off", "on", "both"), default="both",
                        help="GPU section: packed rows (--pack), length-bucketed rows, or both in the same run")
    parser.add_argument("--loader-only", action="store_true",
                        help="only the loader comparison: on the fly against the token cache")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    max_len = 256

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        work = Path(tmp)
        shards = write_sample_shards(work / "shards", train=args.dialogues, valid=0, test=0, files=4,
                                     rows_per_group=1000, seed=0, filler_words=60)
        gpu = {"steps": args.gpu_steps, "workers": [int(w) for w in args.gpu_workers.split(",")],
               "compile_modes": {"both": ["on", "off"]}.get(args.gpu_compile, [args.gpu_compile]),
               "sizes": args.gpu_sizes.split(","),
               "pack_modes": {"off": [False], "on": [True], "both": [True, False]}[args.gpu_pack]}
        if args.gpu_dry_run or args.gpu_only:
            if args.gpu_only and not torch.cuda.is_available():
                raise SystemExit("--gpu-only: no CUDA device here (--gpu-dry-run runs the section on CPU)")
            gpu_shards = shards if args.gpu_dry_run else write_sample_shards(
                work / "gpu-shards", train=args.gpu_dialogues, valid=0, test=0, files=4, rows_per_group=1000,
                seed=0, filler_words=60)
            results = gpu_section(gpu_shards, work, dry_run=args.gpu_dry_run, **gpu)
            if args.json:
                args.json.write_text(json.dumps({"gpu": results}, indent=2))
            return
        if args.loader_only:
            figures = loader_comparison(shards, batch_tokens=8192, max_len=max_len)
            if args.json:
                args.json.write_text(json.dumps(figures, indent=2))
            return
        model_dir = make_model(work / "model")
        print(f"torch threads {torch.get_num_threads()}; {args.dialogues} dialogues; GPT-2 4x128 "
              f"({sum(p.numel() for p in __import__('transformers').AutoModelForCausalLM.from_pretrained(model_dir).parameters()) / 1e6:.1f}M params); "
              f"{args.steps} steps each; shared machine, figures are noisy")
        results = {"baseline": [], "rdial": [], "rdial_unpacked": []}
        for r in range(args.rounds):
            base = baseline(shards, model_dir, work / f"hf{r}", steps=args.steps, batch=args.baseline_batch,
                            max_len=max_len)
            # same real tokens per step as the baseline measured, plus rdial's ~1% padding
            batch_tokens = max(max_len, int(base["tokens_per_step"] * 1.01))
            # packed rows of --max-seq-len: on CPU attention over a dense T x T mask costs T^2 a
            # row (one row of 1,719 tokens ran at 1/3 of --no-pack's speed, docs/train.md)
            ours = rdial_run(shards, str(model_dir), work / f"rdial{r}", steps=args.steps,
                             batch_tokens=batch_tokens, max_len=max_len, seq_len=max_len)
            unpacked = rdial_run(shards, str(model_dir), work / f"rdial-nopack{r}", steps=args.steps,
                                 batch_tokens=batch_tokens, max_len=max_len, pack=False)
            results["baseline"].append(base)
            results["rdial"].append(ours)
            results["rdial_unpacked"].append(unpacked)
            print(f"round {r + 1}: rdial --no-pack {unpacked['tokens_per_s']:,.0f} real tok/s (padding "
                  f"{100 * unpacked['padding']:.1f}%); ratio {unpacked['tokens_per_s'] / base['tokens_per_s']:.2f}x")
            print(f"round {r + 1}: baseline {base['tokens_per_s']:,.0f} real tok/s (padding "
                  f"{100 * base['padding']:.1f}%, {base['tokens_per_step']:,.0f} real tok/step); rdial "
                  f"{ours['tokens_per_s']:,.0f} real tok/s (padding {100 * ours['padding']:.1f}%, "
                  f"{ours['tokens_per_step']:,.0f} real tok/step, --batch-tokens {batch_tokens}); "
                  f"ratio {ours['tokens_per_s'] / base['tokens_per_s']:.2f}x")
        best = {k: max(v, key=lambda x: x["tokens_per_s"]) for k, v in results.items()}
        ratio = best["rdial"]["tokens_per_s"] / best["baseline"]["tokens_per_s"]
        loader = loader_alone(shards, batch_tokens=batch_tokens, max_len=max_len)["tokens_per_s"]
        consume = best["rdial"]["tokens_per_s"]
        print(f"\nbaseline (HF datasets + DataCollatorForLanguageModeling + Trainer): "
              f"{best['baseline']['tokens_per_s']:,.0f} real tokens/s, padding {100 * best['baseline']['padding']:.1f}%")
        print(f"rdial train (packed): {consume:,.0f} real tokens/s, padding {100 * best['rdial']['padding']:.1f}%")
        print(f"rdial train --no-pack: {best['rdial_unpacked']['tokens_per_s']:,.0f} real tokens/s, padding "
              f"{100 * best['rdial_unpacked']['padding']:.1f}%")
        print(f"ratio rdial/baseline: {ratio:.2f}x (target >= 3x)")
        print(f"loader alone: {loader:,.0f} real tokens/s = {loader / consume:.0f}x what the trainer consumes "
              f"(target >= 10x)")
        figures = {"rounds": results, "ratio": ratio, "loader_tokens_per_s": loader,
                   "loader": loader_comparison(shards, batch_tokens=batch_tokens, max_len=max_len)}
        if torch.cuda.is_available():
            gpu_shards = write_sample_shards(work / "gpu-shards", train=args.gpu_dialogues, valid=0, test=0,
                                             files=4, rows_per_group=1000, seed=0, filler_words=60)
            figures["gpu"] = gpu_section(gpu_shards, work, dry_run=False, **gpu)
        else:
            print("\nGPU section skipped: no CUDA device here (python bench/bench_train.py --gpu-dry-run "
                  "runs its code on CPU)")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
