"""Talk to a trained model: reply to a dialogue, or chat on the terminal.

    rdial generate run "does anyone know a good pizza place?"
    rdial generate run "first turn" "second turn"           # reply to a longer dialogue
    rdial generate run --chat --sample                       # interactive; empty line or EOF ends
    rdial generate run/checkpoints/step-00010000 "hi"        # one checkpoint

MODEL is a run directory (its newest checkpoint is used) or one checkpoint directory (any
Hugging Face GPT-2 directory works, e.g. DialoGPT's weights). Turns are joined by
<|endoftext|> as in training; the reply ends at the model's <|endoftext|>. Greedy decoding
unless --sample. In --chat the last --history turns are the context.

Prints the reply on stdout. Exit status: 0 ok; 2 no such model, or a corrupt one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rdial.config import add_config_arguments, arg, config_from_args, require

HELP = "reply to a dialogue (or chat) with a trained checkpoint"


@dataclass(kw_only=True)
class GenerateConfig:
    model: Path = field(metadata=arg("run directory or checkpoint directory", positional=True))
    turns: list[str] = field(default_factory=list, metadata=arg("the dialogue so far, oldest turn first", cli=False))
    chat: bool = field(default=False, metadata=arg("interactive chat on the terminal"))
    max_new_tokens: int = field(default=40, metadata=arg("longest reply in tokens"))
    sample: bool = field(default=False, metadata=arg("sample (top-k/top-p) instead of greedy decoding"))
    top_k: int = field(default=50, metadata=arg("sampling: keep the k likeliest tokens"))
    top_p: float = field(default=0.9, metadata=arg("sampling: nucleus probability mass"))
    temperature: float = field(default=1.0, metadata=arg("sampling temperature"))
    history: int = field(default=5, metadata=arg("chat: turns of context kept"))
    seed: int = field(default=0, metadata=arg("sampling seed"))
    tokenizer: str | None = field(default=None, metadata=arg(
        "tokenizer (default: the one saved with the model; gpt2-offline, as train uses, when the "
        "model folder has no tokenizer files)"))

    def __post_init__(self):
        self.model = Path(self.model)
        require(self.chat or bool(self.turns), "TURNS", "give the dialogue to reply to, or --chat")
        require(self.max_new_tokens >= 1, "--max-new-tokens", "must be at least 1")
        require(self.history >= 1, "--history", "must be at least 1")


def add_arguments(parser) -> None:
    add_config_arguments(parser, GenerateConfig)
    parser.add_argument("turns", nargs="*", metavar="TURN", help="the dialogue so far, oldest turn first")


def run(args) -> int:
    from rdial.train.generate import ChatModel

    cfg = config_from_args(GenerateConfig, args)
    chat = ChatModel(cfg.model, tokenizer=cfg.tokenizer)
    options = {"max_new_tokens": cfg.max_new_tokens, "sample": cfg.sample, "top_k": cfg.top_k,
               "top_p": cfg.top_p, "temperature": cfg.temperature, "seed": cfg.seed}
    if not cfg.chat:
        print(chat.reply(cfg.turns, **options))
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
        answer = chat.reply(history[-cfg.history:], **options)
        history.append(answer)
        print(f"bot> {answer}", flush=True)
    print(file=sys.stderr)
    return 0
