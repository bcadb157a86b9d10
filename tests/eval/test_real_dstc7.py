"""The 10 DSTC7 task-2 systems scored in one command; NIST and BLEU equal mteval-v14.pl's (real data)."""

import json

import pytest

from rdial.cli import main
from rdial.eval.hypotheses import read_systems
from rdial.eval.mteval import corpus_nist_bleu
from rdial.eval.references import read_references, reference_lists
from rdial.eval.scorer import TestSetScorer

pytestmark = pytest.mark.real

# mteval-v14.pl's "Cumulative N-gram scoring" (NIST-1..4, BLEU-1..4) on these files, cleaned as
# `dstc.py -c`, 6 cycled reference sets: every figure below was printed by the perl script and
# equals rdial's to its 4 decimals (all 10 systems were compared).
MTEVAL = {
    "Constant": [0.1749, 0.1832, 0.1845, 0.1851, 0.4294, 0.1439, 0.0701, 0.0348],
    "Random": [1.7107, 1.7802, 1.7843, 1.7843, 0.2823, 0.0737, 0.0226, 0.0043],
    "Baseline": [0.8858, 0.9539, 0.9603, 0.9608, 0.4684, 0.1613, 0.0583, 0.0213],
    "Human": [9.0127, 13.7826, 15.198, 15.4646, 0.9427, 0.9389, 0.9376, 0.9371],
    "TeamA": [0.7248, 0.7602, 0.7631, 0.7632, 0.4124, 0.1278, 0.0367, 0.0127],
    "TeamB": [2.4628, 2.65, 2.662, 2.6643, 0.4312, 0.1553, 0.0554, 0.0218],
    "TeamCE": [1.4741, 1.572, 1.579, 1.5793, 0.3802, 0.1164, 0.041, 0.0154],
    "TeamD": [2.0791, 2.2144, 2.2227, 2.2228, 0.3937, 0.126, 0.0413, 0.016],
    "TeamF": [0.0118, 0.0125, 0.0126, 0.0126, 0.3672, 0.116, 0.0415, 0.0201],
    "TeamG": [2.3866, 2.5423, 2.5547, 2.5556, 0.3753, 0.1192, 0.0417, 0.0147],
}
KEYS = [f"nist{n}" for n in range(1, 5)] + [f"bleu{n}" for n in range(1, 5)]


@pytest.fixture(scope="module")
def dstc7_eval(dstc7, tmp_path_factory):
    out = tmp_path_factory.mktemp("dstc7")
    code = main(["eval", "--hyps", str(dstc7 / "dstc7-task2-system_responses.tsv"),
                 "--refs", str(dstc7 / "dstc7-task2-gold_responses.tsv"), "--out", str(out)])
    return code, json.loads((out / "eval.json").read_text())


def test_ten_systems_in_one_command_equal_mteval(dstc7_eval):
    code, result = dstc7_eval
    assert code == 0
    assert list(result["rows"]) == list(MTEVAL)
    for name, expected in MTEVAL.items():
        assert [round(result["rows"][name][k], 4) for k in KEYS] == expected, name
    assert result["items"] == 1000
    assert result["refs"] == {"path": result["refs"]["path"], "format": "dstc7-gold", "refs_per_item": 6,
                              "exclude_ref": None, "min_refs": 1, "max_refs": 1009, "total_refs": 35207}
    human = result["rows"]["Human"]
    assert human["empty_hyps"] == 1 and human["items"] == 1000  # a reply that cleans to nothing is scored
    assert round(result["rows"]["TeamB"]["entropy4"], 4) == 8.4912
    assert round(result["rows"]["TeamB"]["dist2"], 4) == 0.3852
    assert result["rows"]["TeamB"]["avg_len"] == 15.155


def test_plain_files_in_gold_order_give_the_same_rows(dstc7, tmp_path):
    refs = read_references(dstc7 / "dstc7-task2-gold_responses.tsv")
    systems = {s.name: s for s in read_systems(dstc7 / "dstc7-task2-system_responses.tsv", refs)}
    path = tmp_path / "TeamB.txt"
    path.write_text("".join(h + "\n" for h in systems["TeamB"].hyps), encoding="utf-8")
    assert main(["eval", "--hyps", str(path), "--refs", str(dstc7 / "dstc7-task2-gold_responses.tsv")]) == 0
    row = json.loads((tmp_path / "eval.json").read_text())["rows"]["TeamB"]
    assert [round(row[k], 4) for k in KEYS] == MTEVAL["TeamB"]


def test_exclude_ref_is_dstc7s_vshuman(dstc7):
    refs = read_references(dstc7 / "dstc7-task2-gold_responses.tsv")
    systems = {s.name: s for s in read_systems(dstc7 / "dstc7-task2-system_responses.tsv", refs)}
    scorer = TestSetScorer(reference_lists(refs, 6, exclude=1))
    human = scorer.score(systems["Human"].hyps)
    assert [round(human[k], 4) for k in KEYS] == [2.5243, 2.8426, 2.898, 2.9048, 0.3473, 0.1548, 0.0983, 0.0752]


def test_perl_mteval_agrees_on_a_slice(dstc7, mteval, tmp_path):
    """Runs mteval-v14.pl itself on the first 80 items: two systems cleaned, one as it is."""
    refs = read_references(dstc7 / "dstc7-task2-gold_responses.tsv")
    refs.items[:] = refs.items[:80]
    systems = {s.name: s for s in read_systems(dstc7 / "dstc7-task2-system_responses.tsv",
                                               read_references(dstc7 / "dstc7-task2-gold_responses.tsv"))}
    lists = reference_lists(refs, 6)
    for clean, names in ((True, ("TeamB", "Human")), (False, ("Random",))):
        scorer = TestSetScorer(lists, clean=clean)
        ref_sets = [[scorer._clean(item[k]) for item in lists] for k in range(6)]
        for name in names:
            hyps = [scorer._clean(h) for h in systems[name].hyps[:80]]
            nist, bleu = mteval(hyps, ref_sets, tmp_path / f"{name}-{clean}")
            ours = corpus_nist_bleu(hyps, [list(r) for r in zip(*ref_sets)])
            assert [round(x, 4) for x in ours.nist + ours.bleu] == nist + bleu, (name, clean)
