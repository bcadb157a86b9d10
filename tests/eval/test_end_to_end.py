"""Forward and reverse tiny models -> `rdial eval RUN` with greedy, beam and MMI rows in one table."""

import json

import polars as pl

from rdial.cli import main
from rdial.train.generate import DecodeSettings, Generator
from rdial.train.mmi import MmiReranker


def refs_from_shards(shards, path):
    """A multiref TSV of the test split: context turns joined by ' EOS ', the last turn the reference."""
    rows = pl.read_parquet(shards / "test" / "*.parquet").get_column("turn_texts").to_list()
    path.write_text("".join(" EOS ".join(t[:-1]) + "\t" + t[-1] + "\n" for t in rows), encoding="utf-8")
    return [t[:-1] for t in rows], [t[-1] for t in rows]


def test_greedy_beam_and_mmi_rows_in_one_table(tiny_runs, tmp_path, capsys):
    shards, forward, reverse = tiny_runs
    contexts, refs = refs_from_shards(shards, tmp_path / "refs.tsv")
    out = tmp_path / "eval"
    code = main(["eval", str(forward), "--refs", str(tmp_path / "refs.tsv"), "--decode", "greedy", "beam", "mmi",
                 "--mmi", str(reverse), "--beams", "3", "--candidates", "4", "--max-new-tokens", "6",
                 "--shards", str(shards), "--device", "cpu", "--out", str(out), "--batch-size", "5"])
    assert code == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split("|")[1].strip() for line in table[2:]] == ["greedy", "beam", "mmi"]
    result = json.loads((out / "eval.json").read_text())
    assert list(result["rows"]) == ["greedy", "beam", "mmi"] and result["items"] == 6
    gen = Generator(forward, device="cpu")
    hyps = {name: (out / f"hyps-{name}.txt").read_text(encoding="utf-8").split("\n")[:-1] for name in result["rows"]}
    # the rows score exactly what the one-at-a-time decoders give
    assert hyps["greedy"] == [gen.generate([c], DecodeSettings(max_new_tokens=6), batch_size=1)[0] for c in contexts]
    assert hyps["beam"] == gen.generate(contexts, DecodeSettings(max_new_tokens=6, beams=3), batch_size=6)
    mmi = MmiReranker(reverse, device="cpu")
    detailed = mmi.rerank_detailed(gen, contexts, DecodeSettings(max_new_tokens=6, sample=True, top_p=1.0),
                                   candidates=4, batch_size=5)
    assert hyps["mmi"] == [best for best, _ in detailed]
    for best, scored in detailed:  # the pick is the candidate with the best reverse score
        assert best == max(scored, key=lambda pair: pair[1])[0]
    # a row's numbers are those of scoring its hypothesis file alone
    for name, row in result["rows"].items():
        assert row["empty_hyps"] == sum(1 for h in hyps[name] if not h)
        assert row["test_tokens"] > 0 and row["test_ppl"] > 1
    for name, row in [("mmi", result["rows"]["mmi"])]:
        assert main(["eval", "--hyps", row["hyps"], "--refs", str(tmp_path / "refs.tsv"),
                     "--out", str(tmp_path / name)]) == 0
        alone = json.loads((tmp_path / name / "eval.json").read_text())["rows"][f"hyps-{name}"]
        for key in ("nist4", "bleu4", "entropy4", "dist1", "dist2", "avg_len", "empty_hyps"):
            assert alone[key] == row[key], (name, key)
    assert result["rows"]["mmi"]["candidates"] == 4 and result["rows"]["beam"]["decode_settings"]["beams"] == 3


def test_bad_inputs_are_one_line_exit_2(tiny_runs, tmp_path, capsys):
    shards, forward, _ = tiny_runs
    refs_from_shards(shards, tmp_path / "refs.tsv")
    (tmp_path / "h.txt").write_text("one\n", encoding="utf-8")
    assert main(["eval", "--hyps", str(tmp_path / "h.txt"), "--refs", str(tmp_path / "refs.tsv")]) == 2
    assert "h.txt: 1 hypotheses but" in capsys.readouterr().err
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    assert main(["eval", str(tmp_path / "bert"), "--refs", str(tmp_path / "refs.tsv"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bert" in err
    assert main(["eval", str(forward), "--refs", str(tmp_path / "refs.tsv"), "--decode", "mmi"]) == 2
    assert "--mmi: the mmi setting needs the reverse run" in capsys.readouterr().err


def test_generate_file_and_empty_reply(tiny_runs, tmp_path, capsys):
    shards, forward, _ = tiny_runs
    contexts, _ = refs_from_shards(shards, tmp_path / "refs.tsv")
    assert main(["generate", str(forward), "--input", str(tmp_path / "refs.tsv"), "--output",
                 str(tmp_path / "hyps.txt"), "--beams", "2", "--n-best", "2", "--max-new-tokens", "4",
                 "--device", "cpu"]) == 0
    lines = (tmp_path / "hyps.txt").read_text(encoding="utf-8").split("\n")[:-1]
    gen = Generator(forward, device="cpu")
    assert [line.split("\t") for line in lines] == gen.generate_nbest(
        contexts, DecodeSettings(max_new_tokens=4, beams=2, n_best=2))
    assert "6 contexts" in capsys.readouterr().err
