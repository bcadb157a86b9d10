"""Reply to a dialogue with a trained checkpoint, in DialoGPT's format.

    python -c "from rdial.train.generate import reply; print(reply('run', ['hi, how are you?']))"

The dialogue's turns are joined and ended by <|endoftext|>; the model continues until it
writes <|endoftext|> (or --max-new-tokens). Greedy by default; --sample draws with top-k/top-p.
`model_dir` is a checkpoint directory or a run directory (its newest checkpoint).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from rdial.errors import RdialError
from rdial.train.checkpoint import list_checkpoints
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


class ChatModel:
    def __init__(self, model_dir: Path, tokenizer: str | None = None, device: str = "cpu"):
        self.model_dir = resolve_model_dir(model_dir)
        self.tokenizer = load_tokenizer(tokenizer or tokenizer_for_model(self.model_dir))
        self.model = load_pretrained(self.model_dir).to(device).eval()
        check_compatible(self.model, self.tokenizer, 8, where=str(self.model_dir))
        self.device = device

    def reply(self, turns: list[str], *, max_new_tokens: int = 40, sample: bool = False,
              top_k: int = 50, top_p: float = 0.9, temperature: float = 1.0, seed: int = 0) -> str:
        if not turns:
            raise RdialError("generate: give at least one turn to reply to")
        eos = self.tokenizer.eos_id
        ids = [t for turn in self.tokenizer.encode_turns(list(turns)) for t in turn + [eos]]
        room = self.model.config.n_positions - max_new_tokens
        ids = ids[-room:]  # the newest context, as in training
        input_ids = torch.tensor([ids], device=self.device)
        torch.manual_seed(seed)
        with torch.no_grad():
            out = self.model.generate(
                input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new_tokens,
                do_sample=sample, top_k=top_k if sample else None, top_p=top_p if sample else None,
                temperature=temperature if sample else None, eos_token_id=eos, pad_token_id=eos)
        new = out[0, input_ids.shape[1]:].tolist()
        if eos in new:
            new = new[:new.index(eos)]
        return self.tokenizer.decode(new).strip()


@functools.lru_cache(maxsize=2)
def _chat_model(model_dir: str) -> ChatModel:
    return ChatModel(Path(model_dir))


def reply(model_dir, turns: list[str], **options) -> str:
    """The model's next turn after `turns` (oldest first); the model is loaded once and cached."""
    return _chat_model(str(model_dir)).reply(list(turns), **options)
