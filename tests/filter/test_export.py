import io

import pytest

from rdial.cli import main
from rdial.errors import RdialError
from rdial.filter.export import export
from rdial.filter.stage import FilterConfig, run_filter
from rdial.filter.synthetic import chain_row as chain
from rdial.filter.synthetic import chains_table
from rdial.corpus import Corpus


def corpus_with(tmp_path, rows):
    corpus = Corpus.open_or_create(tmp_path / "c", 1)
    corpus.chains_dir.mkdir(parents=True)
    import polars as pl
    pl.from_arrow(chains_table(rows)).write_parquet(corpus.chains_file(0))
    run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", workers=1, progress=False,
                            split_fractions=(1.0, 0.0, 0.0)))
    return corpus.root


ROWS = [chain("What the fuck is this?", "It's a new game, b/c why not", "I like it :D", link="t3_a"),
        chain("Is it good", "yes it is good", link="t3_b")]
EXPECTED_TSV = (b"0.0 What the fuck is this ? EOS 1.0 It's a new game , because why not\t1.0 I like it :D\n"
                b"1.0 Is it good\t1.0 yes it is good\n")


def test_dialogpt_tsv_byte_for_byte(tmp_path):
    root = corpus_with(tmp_path, ROWS)
    out = io.BytesIO()
    assert export(root, fmt="dialogpt-tsv", split="train", out=out) == 2
    assert out.getvalue() == EXPECTED_TSV


def test_export_cli_writes_file_and_jsonl(tmp_path, capsysbinary):
    root = corpus_with(tmp_path, ROWS)
    assert main(["export", str(root), "--format", "dialogpt-tsv", "--out", str(tmp_path / "t.tsv")]) == 0
    assert (tmp_path / "t.tsv").read_bytes() == EXPECTED_TSV
    assert main(["export", str(root), "--format", "jsonl", "--split", "train"]) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert len(lines) == 2
    assert lines[1] == ('{"link_id":"t3_b","subreddit":"AskReddit","turn_ids":["c0","c1"],'
                        '"turn_authors":["user0","user1"],"turn_texts":["Is it good","yes it is good"],'
                        '"turn_scores":[5,5],"turn_created":[0,1],"over_18":null,"turn_weights":[1.0,1.0]}')


def test_export_without_shards_is_a_clear_error(tmp_path):
    Corpus.open_or_create(tmp_path / "c", 1)
    with pytest.raises(RdialError, match="no shards; run `rdial filter"):
        export(tmp_path / "c", fmt="jsonl", split=None, out=io.BytesIO())
