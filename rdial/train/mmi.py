"""MMI reranking (DialoGPT's paper, section 3.2): sample K replies, keep the one whose reverse
model score log P(source | reply) is best.

    rdial generate run --mmi reverse-run --candidates 16 "does anyone know a good pizza place?"
    python -c "from rdial.train.mmi import MmiReranker; ..."   # rerank_all(generator, contexts, settings)

The reverse model is a run of `rdial train --reverse` (it saw each dialogue as: the target,
then the context turns newest to oldest). For every context the forward model draws K replies
by top-k/top-p sampling in one batch (K rows per context; several contexts per batch); the
reverse model scores all of them in one batched forward pass over

    reply EOS  s_1 EOS  s_2 EOS ...      (loss on the source part only)

where the source is the last context turn (`source="last"`, the default: the turn the reply
answers) or every context turn newest first (`source="context"`, the order the reverse model
was trained on). `score="sum"` (default) is log P(source | reply); `"mean"` divides it by the
source's tokens: the pick is the same (one source per context) unless the source must be cut to
fit the model's positions, where "mean" compares cut and uncut fairly. Ties keep the earlier
sample.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from rdial.train.generate import DecodeSettings, Generator, resolve_model_dir
from rdial.train.model import check_compatible, load_pretrained
from rdial.train.tokenizer import load_tokenizer

SCORES = ("sum", "mean")
SOURCES = ("last", "context")


class MmiReranker:
    def __init__(self, reverse_dir: Path, *, device: str = "cpu", score: str = "sum", source: str = "last",
                 tokenizer: str | None = None):
        if score not in SCORES or source not in SOURCES:
            raise ValueError(f"score in {SCORES}, source in {SOURCES}")
        self.model_dir = resolve_model_dir(reverse_dir)
        self.tokenizer = load_tokenizer(tokenizer or str(self.model_dir))
        self.model = load_pretrained(self.model_dir).to(device).eval()
        check_compatible(self.model, self.tokenizer, 8, where=f"--mmi {self.model_dir}")
        self.device, self.score_mode, self.source = device, score, source

    def source_ids(self, turns: list[str]) -> list[int]:
        chosen = turns[-1:] if self.source == "last" else turns[::-1]
        eos = self.tokenizer.eos_id
        return [t for turn in self.tokenizer.encode_turns(list(chosen)) for t in turn + [eos]]

    def scores(self, pairs: list[tuple[list[int], list[int]]]) -> list[float]:
        """log P(source | reply) of each (reply ids, source ids), one forward pass (right-padded)."""
        eos = self.tokenizer.eos_id
        room = self.model.config.n_positions
        rows = []
        for reply, source in pairs:
            head = (reply + [eos])[-(room // 2):]
            rows.append((head, source[:room - len(head)]))
        width = max(len(h) + len(s) for h, s in rows)
        ids = torch.full((len(rows), width), eos, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, (head, source) in enumerate(rows):
            seq = head + source
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, :len(seq)] = 1
            labels[r, len(head):len(seq)] = torch.tensor(source)
        with torch.no_grad():
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
        logp = F.log_softmax(logits[:, :-1], dim=-1)
        target = labels[:, 1:].to(self.device)
        keep = target != -100
        picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
        total = picked.sum(-1)
        if self.score_mode == "mean":
            total = total / keep.sum(-1).clamp(min=1)
        return total.tolist()

    def rerank_all(self, generator: Generator, contexts: list[list[str]], settings: DecodeSettings, *,
                   candidates: int, batch_size: int = 32) -> list[str]:
        """The best of `candidates` samples for each context (turns oldest first), in input order."""
        return [best for best, _ in self.rerank_detailed(generator, contexts, settings, candidates=candidates,
                                                          batch_size=batch_size)]

    def rerank_detailed(self, generator, contexts, settings, *, candidates, batch_size=32):
        """[(best reply, [(candidate, score), ...]), ...] per context."""
        from dataclasses import replace

        sampling = replace(settings, sample=True, beams=1, n_best=candidates)
        per_batch = max(1, batch_size // candidates) if candidates < batch_size else 1
        out = []
        for start in range(0, len(contexts), per_batch):
            chunk = contexts[start:start + per_batch]
            ids = [generator.context_ids(c, settings.max_new_tokens) for c in chunk]
            drawn = generator.generate_ids(ids, replace(sampling, seed=settings.seed + start), batch_size=len(chunk))
            pairs = [(reply, self.source_ids(turns)) for turns, replies in zip(chunk, drawn) for reply in replies]
            scores = self.scores(pairs)
            for c, replies in enumerate(drawn):
                mine = scores[c * candidates:(c + 1) * candidates]
                best = max(range(candidates), key=lambda k: (mine[k], -k))
                texts = [generator.tokenizer.decode(r).strip() for r in replies]
                out.append((texts[best], list(zip(texts, mine))))
        return out
