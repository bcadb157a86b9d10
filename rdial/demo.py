"""`rdial demo`: the whole pipeline end to end on dumps that rdial generates itself.

    rdial demo --out demo-run                  # about 2 minutes on 2 shared CPU cores (docs/train.md)
    rdial demo --out demo-run --comments 200000 --steps 300

What it runs, each stage exactly as its own command would (their outputs stay for you to look at):
  1. rdial synth   --out demo-run/dumps --months 2019-09 2019-10   (zst, 2 GiB window, RC + RS)
  2. rdial extract demo-run/dumps/R[CS]_*.zst --out demo-run/corpus --buckets 16
  3. rdial build   demo-run/corpus                                  (threads across both months)
  4. rdial filter  demo-run/corpus --preset rdial                   -> corpus/shards/{train,valid,test}
  5. rdial train   --shards demo-run/corpus/shards --out demo-run/run --model tiny --max-steps 30
                   --batch-tokens 1024 --lr 3e-3 --warmup-steps 3 --schedule cosine
  6. a reply from the trained model to the first test dialogue, then what the run shows: the
     loss and perplexity before training (step 1) and after, and the commands for real dumps

The demo is sized for a busy 2-core machine: 5,000 comments a month and a 3.3M-parameter
model for 30 steps of 1,024 tokens (the 50,257-token output layer is most of a tiny model's
cost). Such a model learns which tokens are frequent, not how to answer: its reply shows that
the pipeline runs, not that it talks. A rerun reuses every finished stage (the ledgers) and the
finished training (left as it is), and ends with the same corpus; `--steps` larger than the
last run's trains on from its checkpoint. Exit status: non-zero when any stage reports a
failure; 130 when stopped by a signal.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import add_config_arguments, arg, config_from_args, require, save_config

HELP = "run synth -> extract -> build -> filter -> train end to end on generated data"


@dataclass(kw_only=True)
class DemoConfig:
    out: Path = field(default=Path("demo-run"), metadata=arg("directory for dumps, corpus and run"))
    comments: int = field(default=5_000, metadata=arg("synthetic comments per month"))
    months: list[str] = field(default_factory=lambda: ["2019-09", "2019-10"],
                              metadata=arg("months to generate, oldest first", metavar="YYYY-MM"))
    buckets: int = field(default=16, metadata=arg("thread buckets of the demo corpus"))
    preset: str = field(default="rdial", metadata=arg("filter preset",
                                                      choices=["dialogpt", "paper", "rdial"]))
    steps: int = field(default=30, metadata=arg("training steps of the tiny model (1,024 tokens each)"))
    workers: int = field(default=2, metadata=arg("parallel tasks per stage"))
    seed: int = field(default=0, metadata=arg("seed of the synthetic dumps and of training"))

    def __post_init__(self):
        self.out = Path(self.out)
        require(self.comments >= 100, "--comments", "use at least 100 so that some chains survive")
        require(self.steps >= 1, "--steps", "must be at least 1")
        require(self.buckets >= 1, "--buckets", "must be at least 1")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_demo(cfg: DemoConfig) -> int:
    from rdial.build.stage import BuildConfig, run_build
    from rdial.extract.stage import ExtractConfig, run_extract
    from rdial.filter.stage import FilterConfig, run_filter
    from rdial.synth import SynthConfig, generate_dumps

    start = time.monotonic()
    cfg.out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, cfg.out / "demo.config.json")
    dumps, corpus = cfg.out / "dumps", cfg.out / "corpus"

    _say(f"== 1/6 synth: {cfg.comments:,} comments a month, {' '.join(cfg.months)} -> {dumps}")
    if not (dumps / "manifest.json").exists():
        generate_dumps(SynthConfig(out=dumps, months=cfg.months, comments=cfg.comments,
                                   seed=cfg.seed, manifest=True))
    codes = []

    _say(f"== 2/6 extract -> {corpus}")
    # the dump files, not the folder: the folder also holds synth's manifest.json
    inputs = sorted(dumps.glob("R[CS]_*.zst"))
    extract = run_extract(ExtractConfig(inputs=inputs, out=corpus, buckets=cfg.buckets,
                                        workers=cfg.workers))
    _say(extract.summary())
    codes.append(extract.exit_code)

    _say("== 3/6 build: comment trees -> dialogue chains")
    build = run_build(BuildConfig(corpus=corpus, preset=cfg.preset, workers=cfg.workers))
    _say(build.summary())
    codes.append(build.exit_code)

    _say(f"== 4/6 filter: preset {cfg.preset} -> {corpus / 'shards'}")
    filt = run_filter(FilterConfig(corpus=corpus, preset=cfg.preset, workers=cfg.workers))
    _say(filt.summary())
    codes.append(filt.exit_code)
    if max(codes):
        _say("demo: a stage failed; see the messages above")
        return 1

    summary = _train(cfg, corpus / "shards")
    if summary.interrupted:
        _say(f"demo: stopped by {summary.interrupted}; rerun the same command to continue")
        return 130
    _say(f"demo: done in {time.monotonic() - start:.0f} s; corpus in {corpus}, model in "
         f"{summary.checkpoint}")
    return 0


def _train(cfg: DemoConfig, shards: Path):
    from rdial.train.config import TrainConfig
    from rdial.train.generate import reply
    from rdial.train.trainer import train

    run_dir = cfg.out / "run"
    _say(f"== 5/6 train: tiny GPT-2, {cfg.steps} steps of 1,024 tokens -> {run_dir}")
    summary = train(TrainConfig(shards=shards, out=run_dir, model="tiny", max_steps=cfg.steps,
                                warmup_steps=min(3, cfg.steps - 1), lr=3e-3, schedule="cosine", batch_tokens=1024,
                                eval_every=0, eval_dialogues=200, save_every=0, log_every=1,
                                seed=cfg.seed, resume=True))
    if summary.interrupted:
        return summary
    if summary.already_finished:
        _say(f"train: {run_dir} finished at step {summary.steps} already; left as it is")
    else:
        _say(f"train: {summary.steps} steps, {summary.tokens_per_s:,.0f} tokens/s, "
             f"padding {100 * summary.padding_share:.1f}%")

    _say("== 6/6 a reply from the trained model")
    turns = _first_test_dialogue(shards)
    answer = reply(summary.checkpoint, turns[:-1], max_new_tokens=20, seed=cfg.seed)
    for t in turns[:-1]:
        _say(f"  > {t}")
    _say(f"  model: {answer or '(nothing: it wrote <|endoftext|> at once)'}")
    _say(f"  (the real reply was: {turns[-1]})")
    _say(_what_it_shows(run_dir, summary))
    return summary


def _what_it_shows(run_dir: Path, summary) -> str:
    """The loss before (step 1: the untrained model's loss on its first batch) and after."""
    import json
    import math

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    train_rows = [r for r in rows if r.get("split") == "train"]
    ppl = lambda loss: f"{math.exp(min(loss, 50.0)):,.0f}"  # noqa: E731
    lines = ["== what the run shows"]
    if train_rows:
        first, last = train_rows[0], train_rows[-1]
        lines.append(f"  train loss {first['loss']:.2f} at step {first['step']} (the untrained model; a uniform "
                     f"guess over GPT-2's 50,257 tokens is {math.log(50257):.2f}) -> {last['loss']:.2f} at step "
                     f"{last['step']}; perplexity {ppl(first['loss'])} -> {ppl(last['loss'])}")
    lines.append(f"  valid perplexity {_num(summary.valid_ppl)}, test {_num(summary.test_ppl)} after "
                 f"{summary.steps} steps; curves in {run_dir / 'metrics.png'}")
    lines.append("  A 3.3M-parameter model after a few thousand tokens of synthetic text has learned which "
                 "tokens are frequent, not how to answer: a reply like the one above is all it can do. The loss "
                 "falling is what the demo shows.")
    lines.append("  For a model that talks, on real dumps (Pushshift RC_/RS_ files) and a GPU:")
    lines.append("    rdial extract /data/reddit/comments /data/reddit/submissions --out corpus")
    lines.append("    rdial build corpus --preset rdial && rdial filter corpus --preset rdial")
    lines.append("    rdial train --shards corpus/shards --out run --model small --device cuda")
    lines.append("    rdial generate run \"anyone know a good pizza place?\"")
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.2f}"


def _first_test_dialogue(shards: Path) -> list[str]:
    import pyarrow.parquet as pq

    for split in ("test", "valid", "train"):
        for part in sorted((shards / split).glob("part-*.parquet")):
            table = pq.read_table(part, columns=["turn_texts"])
            if table.num_rows:
                return table.column("turn_texts")[0].as_py()
    return ["hello", "hi"]


def add_arguments(parser) -> None:
    add_config_arguments(parser, DemoConfig)


def run(args) -> int:
    return run_demo(config_from_args(DemoConfig, args))
