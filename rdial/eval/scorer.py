"""Every metric of a system, DialoGPT's way: clean, fill the reference sets, score.

    python -c "from rdial.eval.scorer import TestSetScorer as T; print(T([['no idea']]).score(['i do n\\'t know']))"

`refs[i]` is item i's reference list as the protocol made it (rdial.eval.references.reference_lists).
With `clean` (the default of `rdial eval`, DSTC7's `dstc.py -c`) hypotheses and references pass
through clean_str first; NIST and BLEU then tokenise again as mteval does; Entropy, Dist and the
length count whitespace tokens of the cleaned hypotheses. The references are cleaned and
prepared once for every system scored against them.
"""

from __future__ import annotations

from rdial.eval.diversity import diversity
from rdial.eval.mteval import MtevalReferences

METRICS = ("nist1", "nist2", "nist3", "nist4", "bleu1", "bleu2", "bleu3", "bleu4",
           "entropy1", "entropy2", "entropy3", "entropy4", "dist1", "dist2", "avg_len")


class TestSetScorer:
    __test__ = False  # not a pytest class

    def __init__(self, refs: list[list[str]], *, clean: bool = True):
        self.clean = clean
        self._cache: dict[str, str] = {}
        self.refs = MtevalReferences([[self._clean(r) for r in item] for item in refs])

    def _clean(self, text: str) -> str:
        if not self.clean:
            return text
        out = self._cache.get(text)
        if out is None:
            from rdial.eval.clean import clean_str

            out = self._cache[text] = clean_str(text)
        return out

    def score(self, hyps: list[str]) -> dict:
        hyps = [self._clean(h) for h in hyps]
        result = self.refs.score(hyps).as_dict()
        result.update(diversity(hyps))
        result["items"] = len(hyps)
        return result
