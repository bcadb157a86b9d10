"""Corpus NIST-1..4 and BLEU-1..4 exactly as NIST's mteval-v14.pl computes them (default options).

    python -c "from rdial.eval.mteval import corpus_nist_bleu as s; print(s(['the cat sat'], [['the cat sat on the mat']]))"

One call scores one system: `hyps[i]` against `refs[i]`, the list of that item's reference
segments. mteval needs every reference set to hold every segment, so DSTC7 and DialoGPT give
each item the same number of references (see rdial.eval.references.cycle_references); this
module takes any count per item, and with equal counts it is mteval to the last printed digit:

- tokenisation: mteval's `tokenization` (language-independent part, ASCII lower-casing,
  punctuation split, period/comma split unless next to a digit, dash after a digit), applied to
  the text DSTC7's scorer writes into the XML (`&` and `<` replaced by a space, an empty line
  written as "__empty__", which mteval tokenises into 5 words "_ _ empty _ _"; the XML
  parser turns `\\r\\n` and `\\r` into `\\n`). Without the placeholder mteval dies on the
  DSTC7 gold file, whose 46 single-reference items have an empty reference.
- NIST information of an n-gram w1..wn: -log2(count(w1..wn) / count(w1..wn-1)) over every
  reference segment of every reference set (a reference repeated by cycling counts each time);
  unigrams divide by the total reference words. mteval tests the prefix for truth in Perl, so a
  bigram whose first word is "0" divides by the total words too: reproduced.
- NIST-n: sum over k<=n of (clipped-match information of k-grams / hypothesis k-grams), times
  the length penalty exp(-beta * log(ratio)^2), beta = -log(0.5)/log(1.5)^2, ratio = hypothesis
  words / (reference words / reference sets), at most 1. With a variable number of references
  the "reference words / sets" term is the sum over items of the mean reference length (equal
  to mteval's with equal counts).
- BLEU-n: geometric mean of clipped n-gram precisions (clip = max count in any one reference of
  the item), mteval's default smoothing (the k-th order with no match counts 1/2^k matches; an
  order with no hypothesis n-grams adds log 1), brevity penalty with the reference length
  closest to each hypothesis (ties: the shorter), summed over the corpus.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

MAX_N = 4

# Perl's \s on a character string (Perl >= 5.18): ASCII space, \t \n \v \f \r and Unicode
# spaces; Python's \s also matches \x1c-\x1f, which Perl does not.
_PERL_SPACE = "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_SPACES = re.compile(_PERL_SPACE + "+")
_PUNCT = re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])")
_PERIOD_AFTER = re.compile(r"([^0-9])([\.,])")
_PERIOD_BEFORE = re.compile(r"([\.,])([^0-9])")
_DASH = re.compile(r"([0-9])(-)")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_BETA = -math.log(0.5) / math.log(1.5) / math.log(1.5)


EMPTY = "__empty__"


def xml_text(line: str) -> str:
    """The segment text mteval reads back from DSTC7's XML: `_write_xml` drops & and <, and
    writes an empty line as "__empty__" (mteval divides by zero on an item whose references
    are all empty); the XML parser turns \\r\\n and \\r into \\n."""
    line = line.replace("&", " ").replace("<", " ") or EMPTY
    return line.replace("\r\n", "\n").replace("\r", "\n")


def tokenize(text: str) -> list[str]:
    """mteval-v14's default `tokenization` of one segment, split into words."""
    t = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    t = t.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    t = (" " + t + " ").translate(_ASCII_LOWER)
    t = _PUNCT.sub(r" \1 ", t)
    t = _PERIOD_AFTER.sub(r"\1 \2 ", t)
    t = _PERIOD_BEFORE.sub(r" \1 \2", t)
    t = _DASH.sub(r"\1 \2 ", t)
    t = _SPACES.sub(" ", t).strip(" ")
    return t.split(" ") if t else []


def ngrams(words: list[str], max_n: int = MAX_N) -> Counter:
    """Counts of every n-gram (n <= max_n) as word tuples."""
    out: Counter = Counter()
    for i in range(len(words)):
        for n in range(1, min(max_n, len(words) - i) + 1):
            out[tuple(words[i:i + n])] += 1
    return out


@dataclass
class Segment:
    """One item tokenised: hypothesis words, and each distinct reference with its multiplicity."""
    hyp: list[str]
    refs: list[list[str]]
    weights: list[int] = field(default_factory=list)  # how many reference sets hold refs[j]


@dataclass(frozen=True)
class NistBleu:
    nist: tuple[float, ...]   # cumulative NIST-1..4
    bleu: tuple[float, ...]   # cumulative BLEU-1..4 (a fraction; mteval prints it so too)
    hyp_words: int
    ref_length: int           # BLEU's effective reference length (closest per item, summed)
    matches: tuple[int, ...]  # clipped n-gram matches, n = 1..4
    hyp_ngrams: tuple[int, ...]

    def as_dict(self) -> dict:
        return {**{f"nist{n}": v for n, v in enumerate(self.nist, 1)},
                **{f"bleu{n}": v for n, v in enumerate(self.bleu, 1)},
                "mteval_hyp_words": self.hyp_words, "bleu_ref_length": self.ref_length}


def _tokenizer():
    cache: dict[str, list[str]] = {}

    def tok(s: str) -> list[str]:
        if s not in cache:
            cache[s] = tokenize(xml_text(s))
        return cache[s]
    return tok


def tokenize_items(hyps: list[str], refs: list[list[str]]) -> list[Segment]:
    """Tokenise hypotheses and references as mteval does; equal references merge into weights."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} reference lists")
    tok = _tokenizer()
    segments = []
    for hyp, item_refs in zip(hyps, refs):
        if not item_refs:
            raise ValueError("an item with no reference")
        distinct: dict[str, int] = {}
        for r in item_refs:
            distinct[r] = distinct.get(r, 0) + 1
        segments.append(Segment(hyp=tok(hyp), refs=[tok(r) for r in distinct], weights=list(distinct.values())))
    return segments


def ngram_information(segments: list[Segment], max_n: int = MAX_N) -> dict[tuple, float]:
    """mteval's `compute_ngram_info` over every reference of every set."""
    counts: Counter = Counter()
    total_words = 0
    for seg in segments:
        for words, weight in zip(seg.refs, seg.weights):
            total_words += weight * len(words)
            for gram, c in ngrams(words, max_n).items():
                counts[gram] += weight * c
    info = {}
    for gram, c in counts.items():
        prefix = gram[:-1]
        # Perl: `$mgram ? count/count{mgram} : count/tot_wrds`; the string "0" is false in Perl
        if prefix and prefix != ("0",):
            ratio = c / counts[prefix]
        else:
            ratio = c / total_words
        info[gram] = -math.log(ratio) / math.log(2)
    return info


def _closest_length(ref_lengths: list[int], hyp_length: int) -> int:
    return min(ref_lengths, key=lambda r: (abs(hyp_length - r), r))


def nist_length_penalty(ratio: float) -> float:
    if ratio >= 1:
        return 1.0
    if ratio <= 0:
        return 0.0
    return math.exp(-_BETA * math.log(ratio) * math.log(ratio))


class MtevalReferences:
    """The references of a test set, prepared once (tokens, n-gram maxima, NIST information),
    then `score(hyps)` for any number of systems."""

    def __init__(self, refs: list[list[str]], max_n: int = MAX_N):
        self.max_n = max_n
        segments = tokenize_items([""] * len(refs), refs)
        self.info = ngram_information(segments, max_n)
        self.ref_lengths = [[len(w) for w in seg.refs] for seg in segments]
        self.ref_max: list[dict[tuple, int]] = []
        for seg in segments:
            best: dict[tuple, int] = {}
            for words in seg.refs:
                for gram, c in ngrams(words, max_n).items():
                    if c > best.get(gram, 0):
                        best[gram] = c
            self.ref_max.append(best)
        # NIST's length term: reference words / reference sets; with a count per item, the sum
        # over items of their mean reference length (mteval's own arithmetic when counts agree)
        words = [sum(w * len(r) for r, w in zip(seg.refs, seg.weights)) for seg in segments]
        counts = {sum(seg.weights) for seg in segments}
        if len(counts) == 1:
            self.mean_ref_words = sum(words) / counts.pop()
        else:
            self.mean_ref_words = sum(w / sum(seg.weights) for w, seg in zip(words, segments))
        self._tok = _tokenizer()

    def __len__(self) -> int:
        return len(self.ref_max)

    def score(self, hyps: list[str]) -> NistBleu:
        if len(hyps) != len(self.ref_max):
            raise ValueError(f"{len(hyps)} hypotheses but {len(self.ref_max)} reference lists")
        max_n = self.max_n
        match = [0] * (max_n + 1)
        tst = [0] * (max_n + 1)
        tst_info = [0.0] * (max_n + 1)
        ref_length = hyp_words = 0
        for hyp, ref_max, lengths in zip(hyps, self.ref_max, self.ref_lengths):
            words = self._tok(hyp)
            n_words = len(words)
            hyp_words += n_words
            for n in range(1, max_n + 1):
                tst[n] += max(n_words - n + 1, 0)
            ref_length += _closest_length(lengths, n_words)
            seg_info = [0.0] * (max_n + 1)  # mteval sums a segment's information, then the corpus
            for gram, c in ngrams(words, max_n).items():
                m = ref_max.get(gram)
                if m is None:
                    continue
                clipped = min(c, m)
                n = len(gram)
                match[n] += clipped
                seg_info[n] += self.info[gram] * clipped
            for n in range(1, max_n + 1):
                tst_info[n] += seg_info[n]
        return NistBleu(nist=_nist(tst_info, tst, self.mean_ref_words, max_n),
                        bleu=_bleu(match, tst, ref_length, max_n), hyp_words=hyp_words,
                        ref_length=ref_length, matches=tuple(match[1:]), hyp_ngrams=tuple(tst[1:]))


def _nist(tst_info, tst, mean_ref_words, max_n) -> tuple[float, ...]:
    if mean_ref_words == 0:
        raise ValueError("every reference is empty after tokenisation: NIST is undefined (mteval divides by 0)")
    penalty = nist_length_penalty(tst[1] / mean_ref_words)
    out, score = [], 0.0
    for n in range(1, max_n + 1):
        score += tst_info[n] / max(tst[n], 1)
        out.append(score * penalty)
    return tuple(out)


def _bleu(match, tst, ref_length, max_n) -> tuple[float, ...]:
    exp_len = math.exp(min(0.0, 1 - ref_length / tst[1])) if tst[1] > 0 else 0.0
    out, score, smooth = [], 0.0, 1
    for n in range(1, max_n + 1):
        if tst[n] == 0:
            iscore = 0.0
        elif match[n] == 0:
            smooth *= 2
            iscore = math.log(1 / (smooth * tst[n]))
        else:
            iscore = math.log(match[n] / tst[n])
        score += iscore
        out.append(math.exp(score / n) * exp_len)
    return tuple(out)


def corpus_nist_bleu(hyps: list[str], refs: list[list[str]]) -> NistBleu:
    """NIST-1..4 and BLEU-1..4 of `hyps` against `refs` (one list of reference strings per item)."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} reference lists")
    return MtevalReferences(refs).score(hyps)
