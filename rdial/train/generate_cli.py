"""Talk to a trained model: reply to a dialogue, to a file of dialogues (batched), or chat.

    rdial generate run "does anyone know a good pizza place?"
    rdial generate run "first turn" "second turn"           # reply to a longer dialogue
    rdial generate run --beams 5 --no-repeat-ngram 3 "hi"    # beam search
    rdial generate run --input contexts.tsv --output hyps.txt --batch-size 64 --device auto
    rdial generate run --mmi reverse-run --candidates 16 "hi"  # MMI reranking (rdial train --reverse)
    rdial generate run --chat --sample                       # interactive; empty line or EOF ends

MODEL is a run directory (its newest checkpoint is used) or one checkpoint directory (any
Hugging Face GPT-2 directory works, e.g. DialoGPT's weights). Turns are joined by
<|endoftext|> as in training; the reply ends at the model's <|endoftext|>. Greedy decoding
unless --beams N (beam search, --length-penalty) or --sample (top-k/top-p); --n-best prints
that many replies (tab-separated in --output). In --chat the last --history turns are the context.

--input: one context a line, its turns separated by " EOS " as in DialoGPT's TSV (a weight
prefix "0.0 " per turn is dropped; only the first tab-separated field is read, so a multiref
TSV or DialoGPT's test.refs.txt works as it is); --output gets one reply a line, same order
(an empty reply is an empty line). Batches are left-padded; the replies equal one-at-a-time
decoding. --mmi: --candidates samples per context, the one the reverse model scores best
(log P(source | reply), --mmi-score sum|mean over the source, --mmi-source last turn|context).

Prints the reply on stdout; a model that replies with nothing says so on stderr (no empty
line). Exit status: 0 ok; 2 no such model, a corrupt one, or a bad --input line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import add_config_arguments, arg, config_from_args, require
from rdial.train.decoding import MmiSettings

HELP = "reply to a dialogue, a file of dialogues (batched, beam/sampling/MMI), or chat"


@dataclass(kw_only=True)
class GenerateConfig(MmiSettings):
    # the decoding and MMI flags (--beams, --sample, --top-k, --mmi, ...) are MmiSettings' fields, shared with rdial eval
    model: Path = field(metadata=arg("run directory or checkpoint directory", positional=True))
    turns: list[str] = field(default_factory=list, metadata=arg("the dialogue so far, oldest turn first", cli=False))
    chat: bool = field(default=False, metadata=arg("interactive chat on the terminal"))
    input: Path | None = field(default=None, metadata=arg("file of contexts, one a line, turns separated by ' EOS '"))
    output: Path | None = field(default=None, metadata=arg("with --input: write the replies here (default: stdout)"))
    batch_size: int = field(default=32, metadata=arg("contexts per batch"))
    device: str = field(default="auto", metadata=arg("auto, cpu or cuda", choices=("auto", "cpu", "cuda")))
    history: int = field(default=5, metadata=arg("chat: turns of context kept"))
    tokenizer: str | None = field(default=None, metadata=arg(
        "tokenizer (default: the one saved with the model; gpt2-offline, as train uses, when the "
        "model folder has no tokenizer files)"))

    def __post_init__(self):
        super().__post_init__()
        self.model = Path(self.model)
        require(self.chat or bool(self.turns) or self.input is not None, "TURNS",
                "give the dialogue to reply to, --input FILE, or --chat")
        require(self.output is None or self.input is not None, "--output", "needs --input")
        require(self.history >= 1, "--history", "must be at least 1")
        require(self.batch_size >= 1, "--batch-size", "must be at least 1")
        require(self.mmi is None or self.n_best == 1, "--n-best", "MMI returns one reply per context")


def add_arguments(parser) -> None:
    add_config_arguments(parser, GenerateConfig)
    parser.add_argument("turns", nargs="*", metavar="TURN", help="the dialogue so far, oldest turn first")


def read_contexts(path: Path) -> list[list[str]]:
    from rdial.errors import InputError
    from rdial.textlines import read_lines, split_context

    contexts = []
    for number, line in enumerate(read_lines(path), 1):
        context = split_context(line.split("\t")[0])
        if not any(context):
            raise InputError(f"{path}:{number}: an empty context; one dialogue a line, turns separated by ' EOS '")
        contexts.append(context)
    return contexts


def run(args) -> int:
    from rdial.train.generate import Generator, resolve_device

    cfg = config_from_args(GenerateConfig, args)
    settings = cfg.decode_settings()
    device = resolve_device(cfg.device)
    generator = Generator(cfg.model, tokenizer=cfg.tokenizer, device=device)
    reranker = None
    if cfg.mmi is not None:
        from rdial.train.mmi import MmiReranker

        reranker = MmiReranker(cfg.mmi, device=device, score=cfg.mmi_score, source=cfg.mmi_source)

    def answer(contexts: list[list[str]]) -> list[list[str]]:
        if reranker is not None:
            return [[r] for r in reranker.rerank_all(generator, contexts, settings, candidates=cfg.candidates,
                                                     batch_size=cfg.batch_size)]
        return generator.generate_nbest(contexts, settings, batch_size=cfg.batch_size)

    if cfg.input is not None:
        contexts = read_contexts(cfg.input)
        replies = answer(contexts)
        text = "".join("\t".join(r.replace("\t", " ").replace("\n", " ") for r in n) + "\n" for n in replies)
        if cfg.output is not None:
            from rdial.publish import atomic_write_text

            atomic_write_text(cfg.output, text)
        else:
            sys.stdout.write(text)
        empty = sum(1 for n in replies if not n[0])
        print(f"rdial generate: {len(replies)} contexts, {empty} empty replies"
              + (f"; replies in {cfg.output}" if cfg.output else ""), file=sys.stderr)
        return 0
    if not cfg.chat:
        replies = answer([cfg.turns])[0]
        if not any(replies):
            print("rdial generate: the model replied with nothing (it wrote <|endoftext|> at once)", file=sys.stderr)
            return 0
        for r in replies:
            print(r)
        return 0
    history = list(cfg.turns)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            break
        if not line.strip():
            break
        history.append(line.strip())
        text = answer([history[-cfg.history:]])[0][0]
        history.append(text)
        print(f"bot> {text}", flush=True)
    print(file=sys.stderr)
    return 0
