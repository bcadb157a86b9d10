"""`rdial demo`: the whole pipeline end to end on dumps that rdial generates itself.

    rdial demo --out demo-run                  # about two minutes on 2 CPU cores
    rdial demo --out demo-run --comments 200000 --steps 300

What it runs, each stage exactly as its own command would (their outputs stay for you to look at):
  1. rdial synth   --out demo-run/dumps --months 2019-09 2019-10   (zst, 2 GiB window, RC + RS)
  2. rdial extract demo-run/dumps --out demo-run/corpus --buckets 16
  3. rdial build   demo-run/corpus                                  (threads across both months)
  4. rdial filter  demo-run/corpus --preset rdial                   -> corpus/shards/{train,valid,test}
  5. rdial train   --shards demo-run/corpus/shards --out demo-run/run --model tiny
  6. a reply from the trained model to the first test dialogue

A rerun reuses every finished stage (the ledgers) and ends with the same corpus. Exit status is
non-zero when any stage reports a failure.
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
    comments: int = field(default=20_000, metadata=arg("synthetic comments per month"))
    months: list[str] = field(default_factory=lambda: ["2019-09", "2019-10"],
                              metadata=arg("months to generate, oldest first", metavar="YYYY-MM"))
    buckets: int = field(default=16, metadata=arg("thread buckets of the demo corpus"))
    preset: str = field(default="rdial", metadata=arg("filter preset",
                                                      choices=["dialogpt", "paper", "rdial"]))
    steps: int = field(default=60, metadata=arg("training steps of the tiny model"))
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
    extract = run_extract(ExtractConfig(inputs=[dumps], out=corpus, buckets=cfg.buckets,
                                        workers=cfg.workers))
    _say(extract.summary())
    codes.append(extract.exit_code)

    _say("== 3/6 build: comment trees -> dialogue chains")
    build = run_build(BuildConfig(corpus=corpus, preset=cfg.preset, workers=cfg.workers))
    _say(build.summary())
    codes.append(build.exit_code)

    _say(f"== 4/6 filter: preset {cfg.preset} -> {corpus / 'shards'}")
    filt = run_filter(FilterConfig(corpus=corpus, preset=cfg.preset, workers=cfg.workers))
    _say(filt.table() + ("\nfilter: shards up to date" if filt.up_to_date else ""))
    codes.append(filt.exit_code)
    if max(codes):
        _say("demo: a stage failed; see the messages above")
        return 1

    summary = _train(cfg, corpus / "shards")
    _say(f"demo: done in {time.monotonic() - start:.0f} s; corpus in {corpus}, model in "
         f"{summary.checkpoint}")
    return 0


def _train(cfg: DemoConfig, shards: Path):
    from rdial.train.config import TrainConfig
    from rdial.train.generate import reply
    from rdial.train.trainer import train

    run_dir = cfg.out / "run"
    _say(f"== 5/6 train: tiny GPT-2, {cfg.steps} steps -> {run_dir}")
    summary = train(TrainConfig(shards=shards, out=run_dir, model="tiny", max_steps=cfg.steps,
                                warmup_steps=max(1, cfg.steps // 10), lr=1e-3,
                                schedule="cosine", batch_tokens=4096, eval_every=0,
                                save_every=0, seed=cfg.seed, resume=True))
    _say(f"train: {summary.steps} steps, train loss {_num(summary.train_loss)}, valid ppl "
         f"{_num(summary.valid_ppl)}, test ppl {_num(summary.test_ppl)}, "
         f"{summary.tokens_per_s:,.0f} tokens/s, padding {100 * summary.padding_share:.1f}%")

    _say("== 6/6 a reply from the trained model")
    turns = _first_test_dialogue(shards)
    answer = reply(summary.checkpoint, turns[:-1], max_new_tokens=20, seed=cfg.seed)
    for t in turns[:-1]:
        _say(f"  > {t}")
    _say(f"  model: {answer}")
    _say(f"  (the real reply was: {turns[-1]})")
    return summary


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
