"""Entropy-n, Dist-n and length: exact small worked examples."""

import math

from rdial.eval.diversity import diversity


def test_worked_example():
    got = diversity(["a b a", "a b"])
    # unigrams a:3 b:2 (5); bigrams "a b":2 "b a":1 (3); one trigram; no 4-gram
    assert round(got["entropy1"], 12) == 0.673011667009
    assert round(got["entropy2"], 12) == round(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)), 12) == 0.636514168295
    assert got["entropy3"] == 0.0 and got["entropy4"] == 0.0
    assert got["dist1"] == 2 / 5 and got["dist2"] == 2 / 3
    assert got["avg_len"] == 2.5 and got["empty_hyps"] == 0


def test_dstc7_readme_demo():
    got = diversity(["i do n't know .", "he is a rocket scientist .", "i love it !"])
    assert [round(got[f"entropy{n}"], 4) for n in range(1, 5)] == [2.5232, 2.4849, 2.1972, 1.7918]
    assert (round(got["dist1"], 4), got["dist2"], got["avg_len"]) == (0.8667, 1.0, 5.0)


def test_empty_replies_count_in_the_length_and_nowhere_else():
    got = diversity(["", "x y", ""])
    assert got["avg_len"] == 2 / 3 and got["empty_hyps"] == 2
    assert got["dist1"] == 1.0 and got["dist2"] == 1.0 and got["entropy1"] == math.log(2)
    nothing = diversity(["", ""])
    assert nothing == {"entropy1": 0.0, "entropy2": 0.0, "entropy3": 0.0, "entropy4": 0.0, "dist1": 0.0,
                       "dist2": 0.0, "avg_len": 0.0, "empty_hyps": 2}
