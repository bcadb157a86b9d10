"""`rdial export --format multiref`: sibling responses, and DialoGPT's create-multiref.py."""

import io

import polars as pl
import pytest

from rdial.cli import main
from rdial.corpus import Corpus
from rdial.errors import RdialError
from rdial.filter.multiref import export_multiref
from rdial.filter.stage import FilterConfig, run_filter
from tests.filter.synthetic import chain_row, chains_table, record_preset


def chain(ids, texts, scores, link="t3_a"):
    row = chain_row(*texts, link=link, scores=scores)
    row["turn_ids"] = list(ids)
    row["turn_created"] = [100 * i for i in range(len(ids))]
    return row


ROWS = [  # one thread: context (p, q) has three replies (two alike), context (p) two
    chain("pqa", ["Is it good", "yes it is", "I agree"], [5, 5, 3]),
    chain("pqb", ["Is it good", "yes it is", "not at all"], [5, 5, 9]),
    chain("pqc", ["Is it good", "yes it is", "I agree"], [5, 5, 1]),
    chain("pr", ["Is it good", "maybe later"], [5, 2]),
    chain("ps", ["Is it good", "no idea"], [5, 7]),
    chain("xy", ["Alone here", "a single reply"], [5, 5], link="t3_b"),
]


def corpus_with(tmp_path, rows, preset="dialogpt"):
    corpus = Corpus.open_or_create(tmp_path / "c", 1)
    corpus.chains_dir.mkdir(parents=True)
    pl.from_arrow(chains_table(rows)).write_parquet(corpus.chains_file(0))
    record_preset(corpus, preset)
    run_filter(FilterConfig(corpus=corpus.root, preset=preset, workers=1, progress=False,
                            split_fractions=(0.0, 0.0, 1.0)))
    return corpus.root


def multiref(root, **kw) -> tuple[list[str], object]:
    out = io.BytesIO()
    report = export_multiref(root, out=out, **kw)
    return out.getvalue().decode().splitlines(), report


def test_siblings_best_scored_first_distinct_texts(tmp_path):
    root = corpus_with(tmp_path, ROWS, preset="dialogpt-test")  # no weights in the lines
    lines, report = multiref(root, split="test")
    assert lines == ["Is it good\tno idea\tmaybe later",
                     "Is it good EOS yes it is\tnot at all\tI agree"]
    assert (report.lines, report.refs) == (2, 4)
    assert multiref(root, split="test", min_refs=3)[0] == []
    assert multiref(root, split="test", max_refs=1, scored=True)[0] == [
        "Is it good\t7|no idea", "Is it good EOS yes it is\t9|not at all"]
    assert multiref(root, split="train")[0] == []


def test_weights_stay_when_the_corpus_has_them(tmp_path):
    root = corpus_with(tmp_path, ROWS)
    assert multiref(root, split="test")[0][0] == "1.0 Is it good\t1.0 no idea\t1.0 maybe later"


def test_dialogpt_ids_as_create_multiref(tmp_path):
    root = corpus_with(tmp_path, ROWS, preset="dialogpt-test")
    ids = tmp_path / "ids.txt"
    ids.write_text("multiref\t10,t3_a,t1_q,t1_b\t4,t3_a,t1_q,t1_a\t2,t3_a,t1_q,t1_gone\t"
                   "1,t3_a,t1_p,t1_r\n"           # r has another context: left out
                   "multiref\t3,t3_a,t1_gone,t1_x\t1,t3_a,t1_p,t1_s\n"  # first ref missing
                   "something else\n"
                   "multiref\t6,t3_b,t1_x,t1_y\n")
    lines, report = multiref(root, dialogpt_ids=ids, scored=True, missing_out=tmp_path / "m.txt")
    assert lines == ["Is it good EOS yes it is\t10|not at all\t4|I agree",
                     "Alone here\t6|a single reply"]
    assert (report.ids_lines, report.source_mismatch, report.missing_first) == (3, 1, 1)
    assert (tmp_path / "m.txt").read_text() == "t3_a,t1_q,t1_gone\nt3_a,t1_gone,t1_x\n"
    assert report.missing == ["t3_a,t1_q,t1_gone", "t3_a,t1_gone,t1_x"]
    assert multiref(root, dialogpt_ids=ids)[0][1] == "Alone here\ta single reply"


def test_cli_and_usage_errors(tmp_path, capsys):
    root = corpus_with(tmp_path, ROWS, preset="dialogpt-test")
    out = tmp_path / "refs.tsv"
    assert main(["export", str(root), "--format", "multiref", "--split", "test", "--out", str(out)]) == 0
    assert out.read_text().count("\n") == 2
    assert "2 contexts, 4 references" in capsys.readouterr().err
    with pytest.raises(RdialError, match="give --split"):
        multiref(root)
    with pytest.raises(RdialError, match="--min-refs"):
        multiref(root, split="test", min_refs=0)


@pytest.mark.real
def test_the_real_6k_ids_file_parses(real_data, tmp_path):
    """DialoGPT's test-multi-refs-ids.txt (threads of 2018-2019) on a corpus without them."""
    root = corpus_with(tmp_path, ROWS, preset="dialogpt-test")
    path = real_data / "eval" / "dialogpt_6k" / "test-multi-refs-ids.txt"
    lines, report = multiref(root, dialogpt_ids=path)
    assert (report.ids_lines, report.lines, report.missing_first) == (6000, 0, 6000)
    assert len(report.missing) == 85_809  # every reference of the file, none in this corpus
    assert report.missing[0] == "t3_8kp7vg,t1_dz9q575,t1_dz9vql2"
