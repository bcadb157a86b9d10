import json

import polars as pl

from rdial.cli import main
from rdial.corpus import Corpus
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, record_preset


def make(tmp_path):
    corpus = Corpus.open_or_create(tmp_path / "c", 2)
    corpus.chains_dir.mkdir(parents=True)
    pl.from_arrow(chains_table([chain("is the game good", "yes the game is good")])).write_parquet(
        corpus.chains_file(0))
    pl.from_arrow(chains_table([chain("is it fun", "it is the most fun", link="t3_b")])).write_parquet(
        corpus.chains_file(1))
    record_preset(corpus, "paper")
    return corpus


def test_exit_codes_and_table(tmp_path, capsys):
    corpus = make(tmp_path)
    root = str(corpus.root)
    assert main(["filter", root, "--preset", "paper", "--no-progress", "--workers", "1",
                 "--split-fractions", "1", "0", "0"]) == 0
    out = capsys.readouterr().out
    assert "filter: preset paper, 2 of 2 chains kept" in out and "chains out" in out
    assert json.loads((corpus.root / "stats/filter.json").read_text())["chains_out"] == 2
    corpus.chains_file(1).write_bytes(b"broken")
    assert main(["filter", root, "--no-progress", "--workers", "1"]) == 1       # a bucket failed
    (tmp_path / "f.toml").write_text("[chains]\nmax_totl = 1\n")
    assert main(["filter", root, "--config", str(tmp_path / "f.toml")]) == 2    # bad config
    assert "--config" in capsys.readouterr().err
    assert main(["filter", root, "--split-fractions", "0.5", "0.5", "0.5"]) == 2
