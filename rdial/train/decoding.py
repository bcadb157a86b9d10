"""DecodeSettings: how a reply is searched for, shared by `rdial generate`, `rdial eval` and the API.

    python -c "from rdial.train.decoding import DecodeSettings as D; print(D(beams=5).hf_kwargs(eos=50256))"

One dataclass holds every decoding flag with its one default, and both commands' configs
inherit it, so `rdial generate --sample` and `rdial eval --decode sample` draw from the same
distribution unless told otherwise. No torch here: the command-line modules import this for
their --help without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from rdial.config import arg, require


@dataclass(kw_only=True)
class DecodeSettings:
    max_new_tokens: int = field(default=40, metadata=arg("longest reply in tokens"))
    beams: int = field(default=1, metadata=arg("beam search width (1: greedy)"))
    # beam: a hypothesis scores sum(log p) / length**length_penalty
    length_penalty: float = field(default=1.0, metadata=arg("beam search: score / length**penalty"))
    no_repeat_ngram: int = field(default=0, metadata=arg("never repeat an n-gram of this size (0: off)"))
    repetition_penalty: float = field(default=1.0, metadata=arg("CTRL's repetition penalty (1: off)"))
    sample: bool = field(default=False, metadata=arg("sample (top-k/top-p) instead of greedy decoding"))
    top_k: int = field(default=50, metadata=arg("sampling: keep the k likeliest tokens (0: all)"))
    # 1.0 (no nucleus cut) is Hugging Face's default; top-k alone is what DialoGPT's decoding
    # examples sample with
    top_p: float = field(default=1.0, metadata=arg("sampling: nucleus probability mass (1: off)"))
    temperature: float = field(default=1.0, metadata=arg("sampling temperature"))
    n_best: int = field(default=1, metadata=arg("replies per context (beam: at most --beams)"))
    seed: int = field(default=0, metadata=arg("sampling seed"))

    def __post_init__(self):
        require(self.max_new_tokens >= 1, "--max-new-tokens", "must be at least 1")
        require(self.beams >= 1, "--beams", "must be at least 1")
        require(self.n_best >= 1, "--n-best", "must be at least 1")
        require(self.sample or self.n_best <= self.beams, "--n-best",
                f"{self.n_best} exceeds --beams {self.beams}: beam search keeps only that many")
        require(self.no_repeat_ngram >= 0, "--no-repeat-ngram", "must be 0 or more")
        require(self.repetition_penalty > 0, "--repetition-penalty", "must be positive")
        require(self.top_k >= 0, "--top-k", "must be 0 or more")
        require(0 < self.top_p <= 1, "--top-p", "must be in (0, 1]")
        require(self.temperature > 0, "--temperature", "must be positive")

    def decode_settings(self, **changes) -> DecodeSettings:
        """Just the decoding fields of a command's config (a subclass), with `changes` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(DecodeSettings)}
        return DecodeSettings(**{**values, **changes})

    def hf_kwargs(self, eos: int) -> dict:
        # use_cache: rdial's training config saves use_cache=False (no KV cache is needed to
        # train); decoding without it would recompute the whole sequence at every new token
        kw = {"max_new_tokens": self.max_new_tokens, "eos_token_id": eos, "pad_token_id": eos, "use_cache": True,
              "num_return_sequences": self.n_best, "repetition_penalty": self.repetition_penalty,
              "no_repeat_ngram_size": self.no_repeat_ngram or None}
        if self.sample:
            kw.update(do_sample=True, top_k=self.top_k or None, top_p=self.top_p, temperature=self.temperature,
                      num_beams=1)
        else:
            kw.update(do_sample=False, top_k=None, top_p=None, temperature=None, num_beams=self.beams)
            if self.beams > 1:
                kw.update(length_penalty=self.length_penalty, early_stopping=True)
        return kw


@dataclass(kw_only=True)
class MmiSettings(DecodeSettings):
    """The decoding flags plus MMI reranking's: what `rdial generate` and `rdial eval` share."""
    mmi: Path | None = field(default=None, metadata=arg("reverse-model run (rdial train --reverse) for MMI reranking"))
    candidates: int = field(default=16, metadata=arg("MMI: samples drawn per context"))
    mmi_score: str = field(default="sum", metadata=arg("MMI: reverse log-prob summed or averaged over the source",
                                                        choices=("sum", "mean")))
    mmi_source: str = field(default="last", metadata=arg("MMI: the source is the last turn or the whole context",
                                                          choices=("last", "context")))

    def __post_init__(self):
        super().__post_init__()
        require(self.candidates >= 1, "--candidates", "must be at least 1")
