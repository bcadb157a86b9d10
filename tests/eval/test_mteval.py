"""NIST and BLEU as mteval-v14 computes them: its tokenisation, its quirks, worked examples."""

import math

import pytest

from rdial.eval.mteval import (EMPTY, corpus_nist_bleu, ngram_information, nist_length_penalty, tokenize,
                               tokenize_items, xml_text)

# DSTC7's evaluation/src/README.md demo (demo/hyp.txt, ref0.txt, ref1.txt) and the figures it prints
DEMO_HYP = ["i do n't know .", "he is a rocket scientist .", "i love it !"]
DEMO_REF0 = ["ok that 's fine", "he is a trader", "i love it !"]
DEMO_REF1 = ["well it 's ok", "he is an engineer", "i 'm not a fan"]


def test_dstc7_readme_demo_figures():
    got = corpus_nist_bleu(DEMO_HYP, [list(pair) for pair in zip(DEMO_REF0, DEMO_REF1)])
    assert [round(x, 4) for x in got.nist] == [1.8338, 2.0838, 2.1949, 2.1949]
    assert [round(x, 4) for x in got.bleu] == [0.4667, 0.441, 0.4017, 0.3224]
    assert got.matches == (7, 5, 3, 1) and got.hyp_ngrams == (15, 12, 9, 6)
    assert got.ref_length == 12  # closest lengths 4 (ties -> shorter), 4, 4


def test_tokenisation_splits_punctuation_but_not_numbers_or_apostrophes():
    assert tokenize("Hello, World! 3.14 and 1,000 -- co-op 5-6 pm's (x)") == [
        "hello", ",", "world", "!", "3.14", "and", "1,000", "--", "co-op", "5", "-", "6", "pm's", "(", "x", ")"]
    assert tokenize("e.g. U.S.A. 10.5%") == ["e", ".", "g", ".", "u", ".", "s", ".", "a", ".", "10.5", "%"]
    assert tokenize("ÀB") == ["Àb"]  # tr/[A-Z]/[a-z]/: ASCII only
    # Perl's \s: NBSP and em space separate words, the file separator \x1c does not
    assert tokenize("tab\there\u00a0nbsp\u2003em\x1cfs") == ["tab", "here", "nbsp", "em\x1cfs"]
    assert tokenize("a &amp; b &lt;x&gt; &quot;q&quot;") == ["a", "&", "b", "<", "x", ">", '"', "q", '"']


def test_xml_layer_drops_ampersand_and_less_than_and_marks_empty_lines():
    assert xml_text("a&b<c") == "a b c"
    assert xml_text("") == EMPTY
    assert tokenize(xml_text("")) == ["_", "_", "empty", "_", "_"]
    assert xml_text("x\r\ny\rz") == "x\ny\nz"


def test_bigram_after_the_word_0_takes_the_unigram_denominator_as_perl_does():
    segs = tokenize_items(["0 a b", "x 0 a"], [["0 a c", "0 a"], ["0 b", "y 0 a"]])
    info = ngram_information(segs)
    total_words = 3 + 2 + 2 + 3
    assert info[("0", "a")] == -math.log(3 / total_words) / math.log(2)  # not 3 / count("0") = 3/4
    assert info[("y", "0")] == -math.log(1 / 1) / math.log(2)
    assert info[("0", "a", "c")] == -math.log(1 / 3) / math.log(2)
    got = corpus_nist_bleu(["0 a b", "x 0 a"], [["0 a c", "0 a"], ["0 b", "y 0 a"]])
    # figures mteval-v14.pl printed for these files
    assert [round(x, 4) for x in got.nist] == [1.0196, 1.8881, 1.8881, 1.8881]
    assert [round(x, 4) for x in got.bleu] == [0.6667, 0.5774, 0.4368, 0.5373]


def test_bleu_smoothing_and_brevity_penalty():
    # one hypothesis, 3 words (2 bigrams, 1 trigram), no bigram match: the bigram order counts
    # 1/2 match (1/(2*2)), the trigram order 1/4 match (1/(4*1)); reference 6 words
    got = corpus_nist_bleu(["a b c"], [["c x a y b z"]])
    bp = math.exp(1 - 6 / 3)
    assert got.bleu[0] == pytest.approx(1.0 * bp)
    assert got.bleu[1] == pytest.approx(math.exp((math.log(1) + math.log(1 / (2 * 2))) / 2) * bp)
    assert got.bleu[2] == pytest.approx(math.exp((math.log(1 / 4) + math.log(1 / 4)) / 3) * bp)
    # no 4-gram in the hypothesis: mteval adds log 1 for that order
    assert got.bleu[3] == pytest.approx(math.exp((math.log(1 / 4) + math.log(1 / 4)) / 4) * bp)


def test_nist_length_penalty():
    assert nist_length_penalty(1.2) == 1.0 and nist_length_penalty(0) == 0.0
    assert nist_length_penalty(1 / 1.5) == pytest.approx(0.5)


def test_variable_reference_counts_generalise_equal_counts():
    """With equal counts the 'all references' arithmetic is mteval's; a duplicate reference only
    weighs in NIST's information and the length term, never in clipping."""
    hyps = ["the cat sat", "a dog ran far"]
    refs = [["the cat sat down", "the cat"], ["a dog ran", "dogs run far"]]
    assert corpus_nist_bleu(hyps, refs) == corpus_nist_bleu(hyps, [r[::-1] for r in refs])
    uneven = corpus_nist_bleu(hyps, [["the cat sat down"], ["a dog ran", "dogs run far", "a dog"]])
    # NIST's length term: mean reference words per item = 4 + (3 + 3 + 2) / 3
    assert uneven.hyp_words == 7
    penalty = nist_length_penalty(7 / (4 + 8 / 3))
    assert penalty == 1.0
    assert uneven.ref_length == 4 + 3


def test_no_reference_is_an_error():
    with pytest.raises(ValueError, match="no reference"):
        corpus_nist_bleu(["x"], [[]])
