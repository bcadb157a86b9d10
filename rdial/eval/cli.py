"""Score replies as DialoGPT and DSTC7 did: NIST, BLEU, Entropy, Dist, length (and test perplexity).

    rdial eval --hyps dstc7-task2-system_responses.tsv --refs dstc7-task2-gold_responses.tsv --out dstc7-eval
    rdial eval --hyps greedy.txt beam.txt --refs test.refs.txt           # one row per file
    rdial eval RUN --refs refs.tsv --decode greedy beam mmi --mmi REVERSE_RUN --beams 5
    rdial eval RUN --refs refs.tsv --shards corpus/shards                 # + test loss and perplexity

--hyps: plain files (one reply a line, in the reference file's order; the row is named after the
file) or DSTC7's system responses (one row per SystemID). RUN: a run or checkpoint directory
(any Hugging Face GPT-2 folder); rdial generates a reply to every context of --refs (batched,
on the GPU when there is one), writes OUT/hyps-SETTING.txt and scores it; --decode lists the
settings, one row each: greedy, beam (--beams, --length-penalty), sample (--top-k/--top-p),
mmi (--candidates samples reranked by the reverse model --mmi).

--refs: DSTC7's gold responses (InstanceID<TAB>ref...), DialoGPT's test.refs.txt
(context<TAB>score|ref...) or a multiref TSV (context<TAB>ref1<TAB>ref2...). Reference protocol:
every item gets --refs-per-item reference sets (default 6, DSTC7's and DialoGPT's), reference
set k = the item's refs[k mod len(refs)]; --all-refs scores against every reference instead;
--exclude-ref 1 is DSTC7's `--vshuman 1` (their scripts' default: the human response, which
their files hold as the second reference, is skipped).
Hypotheses and references are cleaned as their `--clean` does (--no-clean: as they are).

Prints a table (one row per system or setting) and writes OUT/eval.json (every number, the
settings); OUT defaults to the first hypothesis file's folder, or RUN/eval. Exit status: 0 ok;
2 bad input (a line count that differs from the references, an unknown reference format, a
model that is not GPT-2), named on one line.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import add_config_arguments, arg, config_from_args, require, to_jsonable
from rdial.train.decoding import MmiSettings

HELP = "score replies like DialoGPT/DSTC7 (NIST, BLEU, Entropy, Dist); generate them first from a RUN"
SETTINGS = ("greedy", "beam", "sample", "mmi")


@dataclass(kw_only=True)
class EvalConfig(MmiSettings):
    run: Path | None = field(default=None, metadata=arg("run or checkpoint directory to generate with", cli=False))
    refs: Path = field(metadata=arg("reference file (DSTC7 gold, DialoGPT test.refs.txt or multiref TSV)"))
    hyps: list[Path] = field(default_factory=list, metadata=arg(
        "hypothesis files: one reply a line, or DSTC7 system responses (one row per SystemID)"))
    refs_per_item: int = field(default=6, metadata=arg("reference sets per item, filled by cycling its references"))
    exclude_ref: int | None = field(default=None, metadata=arg(
        "DSTC7's --vshuman K: never use an item's K-th reference (0-based) unless it is its only one; "
        "DSTC7's and DialoGPT's scripts pass 1, where their files hold the human response"))
    all_refs: bool = field(default=False, metadata=arg("score against every reference of every item instead"))
    clean: bool = field(default=True, metadata=arg("clean hypotheses and references as DSTC7/DialoGPT --clean do"))
    out: Path | None = field(default=None, metadata=arg(
        "folder for eval.json and generated hypotheses (default: beside the first --hyps file, or RUN/eval)"))
    decode: list[str] = field(default_factory=list, metadata=arg(
        f"with RUN: decoding settings, one row each ({', '.join(SETTINGS)}); default from --beams, --sample and --mmi"))
    shards: Path | None = field(default=None, metadata=arg("with RUN: shard directory; adds test loss and perplexity"))
    eval_dialogues: int = field(default=0, metadata=arg("with --shards: test dialogues to use (0: all)"))
    # the decoding and MMI flags are MmiSettings' fields (shared with rdial generate); one differs:
    beams: int = field(default=1, metadata=arg("beam width of the beam setting (1: the beam row uses 5)"))
    batch_size: int = field(default=32, metadata=arg("contexts per generation batch"))
    device: str = field(default="auto", metadata=arg("auto, cpu or cuda", choices=("auto", "cpu", "cuda")))
    tokenizer: str | None = field(default=None, metadata=arg("tokenizer (default: the one saved with the model)"))

    def __post_init__(self):
        super().__post_init__()
        self.refs = Path(self.refs)
        self.hyps = [Path(h) for h in self.hyps]
        require(bool(self.hyps) != (self.run is not None), "--hyps",
                "give hypothesis files (--hyps) or a RUN to generate with, not both" if self.hyps
                else "give hypothesis files (--hyps H...) or a RUN directory to generate with")
        require(self.refs_per_item >= 1, "--refs-per-item", "must be at least 1")
        require(self.exclude_ref is None or self.exclude_ref >= 0, "--exclude-ref", "must be 0 or more")
        for s in self.decode:
            require(s in SETTINGS, "--decode", f"{s!r}: one of {', '.join(SETTINGS)}")
        require(not self.decode or self.run is not None, "--decode", "needs a RUN to generate with")
        require(self.shards is None or self.run is not None, "--shards", "needs a RUN whose test loss to compute")
        if self.run is not None and not self.decode:
            self.decode = ["mmi" if self.mmi else "beam" if self.beams > 1 else "sample" if self.sample else "greedy"]
        require("mmi" not in self.decode or self.mmi is not None, "--mmi", "the mmi setting needs the reverse run")
        require(self.batch_size >= 1, "--batch-size", "must be at least 1")


def add_arguments(parser) -> None:
    parser.add_argument("run", nargs="?", type=Path, default=None, metavar="RUN",
                        help="run or checkpoint directory to generate replies with (instead of --hyps)")
    add_config_arguments(parser, EvalConfig, skip=("n_best",))  # one reply per context is scored


def run(args) -> int:
    from rdial.eval.evaluate import evaluate

    cfg = config_from_args(EvalConfig, args)
    started = time.time()
    result = evaluate(cfg)
    from rdial.eval.report import table

    print(table(result["rows"]))
    print(f"rdial eval: {len(result['rows'])} row(s), {result['items']} items, "
          f"{result['protocol']}; {result['path']} ({time.time() - started:.1f}s)", file=sys.stderr)
    return 0


def settings_of(cfg: EvalConfig) -> dict:
    return to_jsonable(cfg)
