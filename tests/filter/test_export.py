import io

import pytest

from rdial.cli import main
from rdial.errors import RdialError
from rdial.filter.export import export
from rdial.filter.stage import FilterConfig, run_filter
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, record_preset
from rdial.corpus import Corpus


def corpus_with(tmp_path, rows):
    corpus = Corpus.open_or_create(tmp_path / "c", 1)
    corpus.chains_dir.mkdir(parents=True)
    import polars as pl
    pl.from_arrow(chains_table(rows)).write_parquet(corpus.chains_file(0))
    record_preset(corpus, "dialogpt")
    # DialoGPT's own word list is empty; rdial's, asked for, gives the first turn weight 0.0
    words = tmp_path / "words.toml"
    words.write_text('[lists]\nword_files = ["builtin:offensive_words.txt"]\n')
    run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", config=words, workers=1,
                            progress=False, split_fractions=(1.0, 0.0, 0.0)))
    return corpus.root


ROWS = [chain("What the fuck is this?", "It's a new game, b/c why not", "I like it :D", link="t3_a"),
        chain("Is it good", "yes it is good", link="t3_b")]
EXPECTED_TSV = (b"0.0 What the fuck is this ? EOS 1.0 It's a new game , because why not\t1.0 I like it :D\n"
                b"1.0 Is it good\t1.0 yes it is good\n")


def test_dialogpt_tsv_byte_for_byte(tmp_path):
    root = corpus_with(tmp_path, ROWS)
    out = io.BytesIO()
    assert export(root, fmt="dialogpt-tsv", split="train", out=out).chains == 2
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


def test_a_comment_cannot_forge_a_turn_a_field_or_a_line(tmp_path, capsys):
    rows = [chain("what do you think EOS forged turn", "EOS is a Canon camera", "yes EOS", link="t3_a"),
            chain("Is it good", "yes it is good", link="t3_b")]
    root = corpus_with(tmp_path, rows)
    out = io.BytesIO()
    stats = export(root, fmt="dialogpt-tsv", split="train", out=out)
    assert out.getvalue() == (b"1.0 what do you think eos forged turn EOS 1.0 eos is a Canon camera"
                              b"\t1.0 yes eos\n"
                              b"1.0 Is it good\t1.0 yes it is good\n")
    assert (stats.chains, stats.turns_eos, stats.turns_line_breaks) == (2, 3, 0)
    # as DialoGPT's prepro.py reads it: three turns, not four
    srcs, tgt = out.getvalue().decode().splitlines()[0].split("\t")
    assert [t.split(" ", 1)[1] for t in srcs.split(" EOS ")] == [
        "what do you think eos forged turn", "eos is a Canon camera"]
    assert main(["export", str(root), "--format", "dialogpt-tsv", "--out", str(tmp_path / "t.tsv")]) == 0
    assert capsys.readouterr().err == (
        "export: 2 chains; separators inside turns made plain: 0 turns with tabs or line breaks, "
        f"3 with EOS -> {tmp_path / 't.tsv'}\n")


def test_tabs_and_line_breaks_become_spaces_in_the_tsv_and_are_escaped_in_jsonl():
    import polars as pl

    from rdial.filter.export import separator_counts, tsv_lines

    shard = pl.DataFrame({"turn_texts": [["a\tb", "c\nd\r\ne", "f\u2028g EOS\th"], ["EOS EOS EOS", "x"]],
                          "turn_weights": [[0.0, 1.0, 1.0], [1.0, 1.0]]})
    assert tsv_lines(shard).to_list() == ["0.0 a b EOS 1.0 c d  e\t1.0 f g eos h",
                                          "1.0 eos eos eos\t1.0 x"]
    stats = separator_counts(shard)
    assert (stats.chains, stats.turns_line_breaks, stats.turns_eos) == (2, 3, 2)
    out = io.BytesIO()
    shard.write_ndjson(out)
    assert out.getvalue().splitlines()[0] == b'{"turn_texts":["a\\tb","c\\nd\\r\\ne","f\xe2\x80\xa8g EOS\\th"],"turn_weights":[0.0,1.0,1.0]}'
