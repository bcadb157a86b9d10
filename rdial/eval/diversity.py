"""Entropy-1..4, Dist-1/2 and average length of the hypotheses, as DialoGPT's dstc/metrics.py computes them.

    python -c "from rdial.eval.diversity import diversity as d; print(d(['a b a', 'a b']))"

All on whitespace tokens of the (cleaned) hypotheses, pooled over the corpus:
  Entropy-n  -sum_g p(g) ln p(g), p(g) = count(g) / (all n-grams), natural log (Zhang et al.
             2018, "Generating informative and diverse conversational responses", their code);
  Dist-n     distinct n-grams / all n-grams (Li et al. 2016, "A diversity-promoting objective");
  length     mean tokens per hypothesis, empty ones included.
An order with no n-gram at all (every reply shorter than n) gives 0 where DialoGPT divides by 0.
"""

from __future__ import annotations

import math
from collections import Counter


def _ngram_counts(token_lists: list[list[str]], n: int) -> Counter:
    counts: Counter = Counter()
    for words in token_lists:
        for i in range(len(words) - n + 1):
            counts[tuple(words[i:i + n])] += 1
    return counts


def entropy(counts: Counter) -> float:
    total = sum(counts.values())
    return sum(-c / total * (math.log(c) - math.log(total)) for c in counts.values()) if total else 0.0


def diversity(hyps: list[str]) -> dict:
    tokens = [h.split() for h in hyps]
    out: dict = {}
    for n in range(1, 5):
        counts = _ngram_counts(tokens, n)
        out[f"entropy{n}"] = entropy(counts)
        if n <= 2:
            total = sum(counts.values())
            out[f"dist{n}"] = len(counts) / total if total else 0.0
    out["avg_len"] = sum(len(t) for t in tokens) / len(tokens) if tokens else 0.0
    out["empty_hyps"] = sum(1 for t in tokens if not t)
    return out
