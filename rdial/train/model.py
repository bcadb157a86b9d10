"""GPT-2 models for training: from a size name or a local pretrained directory; the loss.

    python -c "from rdial.train.model import build_model; print(build_model('tiny', vocab_size=50257, max_seq_len=128).num_parameters())"

Sizes (DialoGPT's): tiny (2 layers x 64, for tests), small 117M (12 x 768), medium 345M
(24 x 1024), large 762M (36 x 1280). A path loads a GPT-2 checkpoint in the Hugging Face format
(GPT-2, DialoGPT or an rdial checkpoint). Attention runs through PyTorch SDPA.

The forward is GPT-2's, written out on the HF modules' weights (gpt2_hidden: SDPA with the
packed batch's document mask, nothing data-dependent, so torch.compile(fullgraph=True) takes it
whole). The loss goes through the output layer a chunk of positions at a time (chunked_loss.py),
so the batch's fp32 logits are never all held; positions without a label count with weight 0
(fixed shapes, compiled runs) or are skipped by a host-computed index (eager runs, fewer FLOPs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rdial.errors import RdialError
from rdial.train.chunked_loss import CHUNK, chunked_cross_entropy
from rdial.train.dialogue import IGNORE

SIZES = {  # n_layer, n_embd, n_head
    "tiny": (2, 64, 2),
    "small": (12, 768, 12),
    "medium": (24, 1024, 16),
    "large": (36, 1280, 20),
}


def build_model(spec: str, *, vocab_size: int, max_seq_len: int, dropout: float = 0.1,
                eos_id: int = 50256):
    """A freshly initialised GPT-2 of a named size, or the checkpoint at path `spec`."""
    from transformers import GPT2Config, GPT2LMHeadModel

    if spec not in SIZES:
        return load_pretrained(Path(spec))
    n_layer, n_embd, n_head = SIZES[spec]
    config = GPT2Config(vocab_size=vocab_size, n_positions=max(1024, max_seq_len), n_layer=n_layer,
                        n_embd=n_embd, n_head=n_head, resid_pdrop=dropout, embd_pdrop=dropout,
                        attn_pdrop=dropout, bos_token_id=eos_id, eos_token_id=eos_id, use_cache=True)
    config._attn_implementation = "sdpa"
    return GPT2LMHeadModel(config)


def load_pretrained(path: Path):
    from transformers import AutoConfig, GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    if not path.is_dir():
        raise RdialError(f"--model {path}: neither a size ({', '.join(SIZES)}) nor a directory "
                         f"holding a Hugging Face GPT-2 checkpoint")
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise RdialError(f"--model {path}: no readable config.json ({str(exc).splitlines()[0]})") from exc
    if config.model_type != "gpt2":
        raise RdialError(f"--model {path}: a {config.model_type} model; rdial trains GPT-2 models")
    try:
        model = GPT2LMHeadModel.from_pretrained(path, local_files_only=True, attn_implementation="sdpa")
    except Exception as exc:  # safetensors/torch raise many types on a truncated or corrupt file
        raise RdialError(f"--model {path}: cannot load its weights; the checkpoint is corrupt or "
                         f"incomplete ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    model.config.use_cache = True  # rdial checkpoints before 2026-12 saved false; generate wants the cache
    return model


def check_compatible(model, tokenizer, max_seq_len: int, where: str = "--model") -> None:
    """The tokenizer's ids must fit the model's embedding and the sequence its positions."""
    config = model.config
    if tokenizer.vocab_size > config.vocab_size:
        raise RdialError(f"{where}: the tokenizer has {tokenizer.vocab_size} tokens but the model's "
                         f"vocabulary holds {config.vocab_size}; pass the --tokenizer the model was trained with")
    if config.eos_token_id is not None and config.eos_token_id != tokenizer.eos_id:
        raise RdialError(f"{where}: the model's end-of-text id is {config.eos_token_id}, the tokenizer's "
                         f"<|endoftext|> is {tokenizer.eos_id}; the tokenizer does not match the model")
    if max_seq_len > config.n_positions:
        raise RdialError(f"--max-seq-len: {max_seq_len} exceeds the model's {config.n_positions} positions")


def check_tokenizer_files(model_dir: Path, tokenizer) -> None:
    """A checkpoint that ships its own tokenizer must ship the one we encode with."""
    if not (Path(model_dir) / "tokenizer.json").exists() and not (Path(model_dir) / "vocab.json").exists():
        return
    from transformers import AutoTokenizer

    theirs = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    if theirs.get_vocab() != tokenizer.hf.get_vocab():
        raise RdialError(f"--tokenizer {tokenizer.name}: its vocabulary differs from the tokenizer saved "
                         f"with {model_dir}; pass --tokenizer {model_dir}")


VOCAB_MULTIPLE = 64  # tensor-core friendly output layer: 50257 -> 50304


def pad_vocab(model, multiple: int = VOCAB_MULTIPLE):
    """Grow the tied token embedding / output layer to a multiple of `multiple` rows, the new
    rows zero. `model.config.vocab_size` keeps the real vocabulary: the loss masks the padded
    columns (their softmax share is exactly 0, so are their gradients) and `unpadded_state_dict`
    saves the plain HF GPT-2 layout."""
    wte = model.transformer.wte
    vocab, width = model.config.vocab_size, wte.weight.shape[1]
    padded = -(-vocab // multiple) * multiple
    if wte.weight.shape[0] == padded:
        return model
    grown = torch.nn.Embedding(padded, width, device=wte.weight.device, dtype=wte.weight.dtype)
    with torch.no_grad():
        grown.weight.zero_()
        grown.weight[:vocab] = wte.weight[:vocab]
    model.transformer.wte = grown
    model.lm_head.weight = grown.weight  # tied, as GPT-2 is
    return model


def unpadded_state_dict(model) -> dict:
    """The weights in the plain HF GPT-2 layout (vocabulary rows beyond config.vocab_size cut;
    lm_head left to the tie)."""
    vocab = model.config.vocab_size
    return {k: (v[:vocab] if k == "transformer.wte.weight" else v)
            for k, v in model.state_dict().items() if k != "lm_head.weight"}


class CausalLMLoss(torch.nn.Module):
    """Summed next-token cross-entropy over labelled positions (DDP wraps this module).

    Two ways to pick the labelled positions, neither reading the device:
      loss_index         flat indices into [rows * T] of the labelled positions, computed on
                         the host from the batch (`loss_index`): only those go through the
                         output layer (what the trainer passes)
      weights            (no loss_index) every position goes through the output layer, those
                         without a label multiplied by 0: fixed shapes throughout
    `compile`: the GPT-2 body (embeddings, blocks, document mask) runs through
    torch.compile(fullgraph=True), static shapes for packed batches (one graph) or dynamic
    ones; the loss stays eager: its shape is the batch's loss-token count, and its few large
    matrix products gain nothing from compiling. Labels line up with input_ids (HF
    convention); the shift is done here, keeping [rows, T]."""

    def __init__(self, model, chunk: int = CHUNK, *, compile: str | None = None):
        super().__init__()
        self.model = model
        self.chunk = chunk  # positions per output-layer chunk (chunked_loss.py); 0: the plain loss
        self.own_forward = supports_own_forward(model.config)
        self._body = _body if self.own_forward else _hf_body
        if compile is not None:  # "static" or "dynamic"; a plain function, not a submodule
            self._body = torch.compile(self._body, fullgraph=self.own_forward, dynamic=compile == "dynamic")

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, position_ids: torch.Tensor | None = None,
                doc_ids: torch.Tensor | None = None, loss_index: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self._body(self.model.transformer, input_ids, position_ids, doc_ids)
        hidden = hidden.reshape(-1, hidden.shape[-1])                    # [rows * T, C]
        targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE).reshape(-1)  # the label of the next token
        if loss_index is not None:
            hidden, targets, weights = hidden.index_select(0, loss_index), targets.index_select(0, loss_index), None
        else:
            weights = targets != IGNORE
            targets = targets.clamp_min(0)  # any valid id where the weight is 0
        vocab = self.model.config.vocab_size
        if self.chunk and self.model.lm_head.bias is None:
            return chunked_cross_entropy(hidden, self.model.lm_head.weight, targets, weights=weights,
                                         chunk=self.chunk, vocab=vocab)
        logits = self.model.lm_head(hidden)[:, :vocab]
        losses = F.cross_entropy(logits.to(torch.promote_types(logits.dtype, torch.float32)), targets,
                                 reduction="none")
        return losses.sum() if weights is None else (losses * weights).sum()


def loss_index(labels: torch.Tensor) -> torch.Tensor:
    """Flat indices into [rows * T] of the positions whose next token carries loss, computed with
    numpy on the host (CausalLMLoss's `loss_index`: no nonzero on the device, no sync)."""
    shifted = np.full(labels.shape, IGNORE, dtype=np.int64)
    shifted[:, :-1] = labels[:, 1:].numpy()
    return torch.from_numpy(np.flatnonzero(shifted != IGNORE))


def _body(transformer, input_ids, position_ids, doc_ids):
    return gpt2_hidden(transformer, input_ids, position_ids, None if doc_ids is None else document_mask(doc_ids))


def _hf_body(transformer, input_ids, position_ids, doc_ids):
    mask = None if doc_ids is None else document_mask(doc_ids)
    return transformer(input_ids=input_ids, position_ids=position_ids, attention_mask=mask,
                       use_cache=False).last_hidden_state


def supports_own_forward(config) -> bool:
    """GPT-2 configs whose blocks `gpt2_hidden` computes exactly as Hugging Face's do (every
    GPT-2 and DialoGPT checkpoint; the rarely used attention variants take HF's forward)."""
    return (getattr(config, "scale_attn_weights", True) and not getattr(config, "scale_attn_by_inverse_layer_idx", False)
            and not getattr(config, "reorder_and_upcast_attn", False) and not getattr(config, "add_cross_attention", False))


def gpt2_hidden(transformer, input_ids: torch.Tensor, position_ids: torch.Tensor | None,
                mask: torch.Tensor | None) -> torch.Tensor:
    """GPT-2's final hidden states [rows, T, C], on the HF module's own weights (nanoGPT's
    forward: embeddings, blocks of attention + MLP, the final norm). No cache, no HF mask
    handling (which inspects the mask's values: a host sync, a graph break): `mask` is the
    boolean [rows, 1, T, T] SDPA mask (document_mask) or None for plain causal attention."""
    if position_ids is None:
        position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
    x = transformer.drop(transformer.wte(input_ids) + transformer.wpe(position_ids))
    for block in transformer.h:
        x = x + _attention(block.attn, block.ln_1(x), mask)
        x = x + block.mlp(block.ln_2(x))
    return transformer.ln_f(x)


def _attention(attn, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    rows, t, c = x.shape
    heads = attn.num_heads
    q, k, v = (z.view(rows, t, heads, c // heads).transpose(1, 2) for z in attn.c_attn(x).split(c, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                       dropout_p=attn.attn_dropout.p if attn.training else 0.0)
    return attn.resid_dropout(attn.c_proj(y.transpose(1, 2).reshape(rows, t, c)))


def document_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """[rows, 1, T, T] boolean SDPA mask from [rows, T] document ids: True where query i may see
    key j (same dialogue, j <= i). Built on the device from the ids (T*T bytes a row: 1 MiB at
    T=1024), so only the [rows, T] ids cross from the host."""
    t = doc_ids.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=doc_ids.device).tril()
    return ((doc_ids[:, :, None] == doc_ids[:, None, :]) & causal)[:, None]
