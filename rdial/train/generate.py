"""Reply to dialogues with a trained checkpoint, in DialoGPT's format: one, or a file of them batched.

    python -c "from rdial.train.generate import reply; print(reply('run', ['hi, how are you?']))"
    python -c "from rdial.train.generate import Generator, DecodeSettings as D; \
print(Generator('run').generate([['hi'], ['what comes after 3?']], D(beams=5)))"

The dialogue's turns are joined and ended by <|endoftext|>; the model continues until it
writes <|endoftext|> (or max_new_tokens). Decoding: greedy (default), beam search (`beams`,
`length_penalty`), sampling (`sample`, top-k/top-p/temperature), each with `no_repeat_ngram`
and `repetition_penalty`, `n_best` replies per context; Hugging Face `generate` does the search.

Batches: contexts are sorted by length, cut into batches of `batch_size`, left-padded (the new
tokens of every row start at the same column) with an attention mask; GPT-2's positions are
absolute, so position ids count real tokens only (0 at a row's first real token; Hugging Face
derives them from the mask), and a padded row decodes exactly as it would alone (tested for
greedy and beam). Replies come back in input order. `model_dir` is a checkpoint directory or a
run directory (its newest checkpoint).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from rdial.config import require
from rdial.errors import RdialError
from rdial.train.checkpoint import list_checkpoints
from rdial.train.decoding import DecodeSettings
from rdial.train.model import check_compatible, load_pretrained
from rdial.train.tokenizer import load_tokenizer, tokenizer_for_model


def resolve_model_dir(path: Path) -> Path:
    path = Path(path)
    if (path / "config.json").exists() and not (path / "checkpoints").is_dir():
        return path
    found = list_checkpoints(path)
    if not found:
        raise RdialError(f"{path}: neither a model directory (config.json) nor a run with checkpoints/")
    return found[-1]


def resolve_device(spec: str) -> str:
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda" and not torch.cuda.is_available():
        raise RdialError("--device cuda: no CUDA device is visible to torch")
    require(spec in ("cpu", "cuda") or spec.startswith("cuda:"), "--device", f"{spec!r}: auto, cpu or cuda")
    return spec


class Generator:
    """A model loaded once; `generate` replies to many contexts in left-padded batches."""

    def __init__(self, model_dir: Path, tokenizer: str | None = None, device: str = "cpu"):
        self.model_dir = resolve_model_dir(model_dir)
        self.tokenizer = load_tokenizer(tokenizer or tokenizer_for_model(self.model_dir))
        self.model = load_pretrained(self.model_dir).to(device).eval()
        check_compatible(self.model, self.tokenizer, 8, where=str(self.model_dir))
        self.device = device

    def context_ids(self, turns: list[str], max_new_tokens: int) -> list[int]:
        if not turns:
            raise RdialError("generate: give at least one turn to reply to")
        eos = self.tokenizer.eos_id
        ids = [t for turn in self.tokenizer.encode_turns(list(turns)) for t in turn + [eos]]
        room = self.model.config.n_positions - max_new_tokens
        return ids[-room:]  # the newest context, as in training

    def generate_ids(self, contexts: list[list[int]], settings: DecodeSettings, *,
                     batch_size: int = 32) -> list[list[list[int]]]:
        """New token ids (ending before <|endoftext|>), `n_best` per context, in input order."""
        eos = self.tokenizer.eos_id
        order = sorted(range(len(contexts)), key=lambda i: len(contexts[i]))
        out: list[list[list[int]] | None] = [None] * len(contexts)
        kwargs = settings.hf_kwargs(eos)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            width = max(len(contexts[i]) for i in chunk)
            ids = torch.full((len(chunk), width), eos, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                n = len(contexts[i])
                ids[row, width - n:] = torch.tensor(contexts[i])
                mask[row, width - n:] = 1
            if settings.sample:
                torch.manual_seed(settings.seed + start)  # a batch's draws depend on the seed and its place
            with torch.no_grad():
                gen = self.model.generate(ids.to(self.device), attention_mask=mask.to(self.device), **kwargs)
            new = gen[:, width:].tolist()
            for row, i in enumerate(chunk):
                replies = []
                for seq in new[row * settings.n_best:(row + 1) * settings.n_best]:
                    replies.append(seq[:seq.index(eos)] if eos in seq else seq)
                out[i] = replies
        return out  # type: ignore[return-value]

    def generate_nbest(self, contexts: list[list[str]], settings: DecodeSettings, *,
                       batch_size: int = 32) -> list[list[str]]:
        ids = [self.context_ids(turns, settings.max_new_tokens) for turns in contexts]
        return [[self.tokenizer.decode(r).strip() for r in replies]
                for replies in self.generate_ids(ids, settings, batch_size=batch_size)]

    def generate(self, contexts: list[list[str]], settings: DecodeSettings, *, batch_size: int = 32) -> list[str]:
        """The best reply to each context (turns oldest first), in input order."""
        return [n[0] for n in self.generate_nbest(contexts, settings, batch_size=batch_size)]


class ChatModel(Generator):
    def reply(self, turns: list[str], *, max_new_tokens: int = 40, sample: bool = False,
              top_k: int = 50, top_p: float = 1.0, temperature: float = 1.0, seed: int = 0, **more) -> str:
        settings = DecodeSettings(max_new_tokens=max_new_tokens, sample=sample, top_k=top_k, top_p=top_p,
                                  temperature=temperature, seed=seed, **more)
        return self.generate([list(turns)], settings, batch_size=1)[0]


@functools.lru_cache(maxsize=2)
def _chat_model(model_dir: str) -> ChatModel:
    return ChatModel(Path(model_dir))


def reply(model_dir, turns: list[str], **options) -> str:
    """The model's next turn after `turns` (oldest first); the model is loaded once and cached."""
    return _chat_model(str(model_dir)).reply(list(turns), **options)
