"""Cross-entropy through the output layer, a chunk of positions at a time: the fp32 logits of a
whole batch are never held (3.4 GB for a 65k-token GPT-2 micro-batch; at most one chunk here).

    python -c "import torch; from rdial.train.chunked_loss import chunked_cross_entropy as ce
    h, w = torch.randn(10, 4, requires_grad=True), torch.randn(7, 4); print(ce(h, w, torch.arange(10) % 7, chunk=3))"

Shapes: hidden [N, C], weight [V, C] (GPT-2's lm_head, tied to the token embedding), targets
[N], and optionally weights [N] (0 or 1: which positions carry loss, multiplied in, so a batch of
fixed shape needs no data-dependent indexing and no host sync, and torch.compile sees one graph).
The forward pass computes each chunk's logits [chunk, V]
in fp32 (fp64 for fp64 inputs), its loss, and at once the gradient of the summed loss with
respect to hidden and weight (softmax - one-hot, the technique of Liger's fused linear
cross-entropy), then drops the logits; backward only scales the stored gradients. Peak
extra memory: one chunk of logits + grad_hidden [N, C] + grad_weight [V, C].
"""

from __future__ import annotations

import torch

CHUNK = 4096  # positions per chunk: 4096 x 50304 fp32 logits = 0.8 GB


class _ChunkedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, weights, chunk: int, vocab: int):
        wide = torch.promote_types(hidden.dtype, torch.float32)
        needs = hidden.requires_grad or weight.requires_grad
        total = torch.zeros((), dtype=wide, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if needs else None
        grad_weight = torch.zeros(weight.shape, dtype=wide, device=weight.device) if needs else None
        for at in range(0, hidden.shape[0], chunk):
            h, t = hidden[at:at + chunk], targets[at:at + chunk]
            w = None if weights is None else weights[at:at + chunk].to(wide)
            logits = (h @ weight.t()).to(wide)                       # [chunk, V]
            if vocab < logits.shape[1]:  # padded vocabulary rows: never a token, share 0
                logits[:, vocab:] = float("-inf")
            lse = torch.logsumexp(logits, dim=-1)
            token_loss = lse - logits.gather(1, t[:, None])[:, 0]
            total += (token_loss if w is None else token_loss * w).sum()
            if needs:
                grad = torch.exp(logits - lse[:, None])                # softmax
                grad.scatter_add_(1, t[:, None], torch.full_like(lse[:, None], -1.0))  # - one-hot
                if w is not None:
                    grad = grad * w[:, None]
                grad = grad.to(h.dtype if not torch.is_autocast_enabled(h.device.type) else
                               torch.get_autocast_dtype(h.device.type))
                grad_hidden[at:at + chunk] = (grad @ weight.to(grad.dtype)).to(hidden.dtype)
                grad_weight += (grad.t() @ h.to(grad.dtype)).to(wide)
            del logits
        ctx.save_for_backward(grad_hidden, grad_weight.to(weight.dtype) if needs else None)
        return total

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight = ctx.saved_tensors
        return (grad_hidden * grad_output.to(grad_hidden.dtype),
                grad_weight * grad_output.to(grad_weight.dtype), None, None, None, None)


def chunked_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, *,
                          weights: torch.Tensor | None = None, chunk: int = CHUNK,
                          vocab: int | None = None) -> torch.Tensor:
    """sum_i weights[i] * CE(hidden[i] @ weight.T, targets[i]) without the [N, V] logits (see
    the module); no `weights`: every position counts; `vocab` < V: the rows past it are padding,
    left out of the softmax. Every target must be a valid row (a position without loss: any
    id, e.g. 0, with weight 0)."""
    if hidden.shape[0] == 0:
        return (hidden.sum() + weight.sum()) * 0  # keeps the graph (DDP wants every parameter used)
    return _ChunkedCrossEntropy.apply(hidden, weight, targets, weights, chunk, vocab or weight.shape[0])
