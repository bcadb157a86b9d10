"""`rdial run pipeline.toml`: two months arriving one after the other end as a from-scratch run
over both; a rerun does nothing; one exit status; errors in the TOML name the key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rdial.cli import main
from rdial.corpus import Corpus
from rdial.synth import SynthConfig, generate_dumps

MONTHS = ["2005-12", "2006-01"]
TOML = """\
dumps = ["dumps"]
corpus = "corpus"
preset = "rdial"
workers = 1

[extract]
buckets = 4

[build]
max_turns = 5

[[export]]
format = "dialogpt-tsv"
split = "train"
out = "train.tsv"

[[export]]
format = "jsonl"
out = "all.jsonl"
"""


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> Path:
    """RC_/RS_ dumps of two months (the second replies to the first)."""
    out = tmp_path_factory.mktemp("months")
    generate_dumps(SynthConfig(out=out, months=MONTHS, comments=1500, seed=5))
    return out


def place(months: Path, folder: Path, month: str) -> None:
    (folder / "dumps").mkdir(parents=True, exist_ok=True)
    for kind in ("RC", "RS"):
        shutil.copy2(months / f"{kind}_{month}.zst", folder / "dumps" / f"{kind}_{month}.zst")


def outputs(folder: Path) -> dict[str, bytes]:
    """Every published data file: tables, chains, shards, exports (not stats or ledgers)."""
    files = {}
    for sub in ("corpus/comments", "corpus/submissions", "corpus/chains", "corpus/shards"):
        for p in sorted((folder / sub).rglob("*.parquet")):
            files[str(p.relative_to(folder))] = p.read_bytes()
    for name in ("train.tsv", "all.jsonl"):
        files[name] = (folder / name).read_bytes()
    return files


def test_months_arriving_one_by_one_equal_a_run_over_both(months, tmp_path, capsys):
    monthly, scratch = tmp_path / "monthly", tmp_path / "scratch"
    for folder in (monthly, scratch):
        folder.mkdir()
        (folder / "pipeline.toml").write_text(TOML)

    place(months, monthly, "2005-12")
    assert main(["run", str(monthly / "pipeline.toml")]) == 0
    first = capsys.readouterr().err.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("rdial run: exit 0 in ")  # quiet: not a tty
    assert first[0].endswith("extract 2 done/2; build 4 done/4; filter "
                             f"{json.loads((monthly / 'corpus/stats/filter.json').read_text())['chains_out']:,}"
                             f" chains; export:train.tsv done; export:all.jsonl done -> "
                             f"{monthly / 'corpus'}")
    place(months, monthly, "2006-01")
    assert main(["run", str(monthly / "pipeline.toml")]) == 0
    second = capsys.readouterr().err.strip()
    assert "extract 2 done/4" in second  # only the new month is read

    for month in MONTHS:
        place(months, scratch, month)
    assert main(["run", str(scratch / "pipeline.toml")]) == 0
    capsys.readouterr()
    got, want = outputs(monthly), outputs(scratch)
    assert sorted(got) == sorted(want) and len(want) > 10
    assert [name for name in want if got[name] != want[name]] == []
    assert want["train.tsv"].count(b"\n") > 100

    # nothing changed: nothing is done, and the exit status says all is well
    assert main(["run", str(monthly / "pipeline.toml")]) == 0
    again = capsys.readouterr().err.strip()
    assert again.endswith("extract 0 done/4; build 0 done/4; filter "
                          f"{json.loads((monthly / 'corpus/stats/filter.json').read_text())['chains_out']:,}"
                          " chains (up to date); export:train.tsv skipped; export:all.jsonl skipped"
                          f" -> {monthly / 'corpus'}")
    runs = Corpus.open(monthly / "corpus").metadata()["runs"]
    assert {s: runs[s]["exit_status"] for s in ("extract", "build", "filter", "run")} == {
        "extract": 0, "build": 0, "filter": 0, "run": 0}


def test_a_damaged_month_is_partial_and_the_rest_still_runs(months, tmp_path, capsys):
    place(months, tmp_path, "2005-12")
    (tmp_path / "pipeline.toml").write_text(TOML)
    (tmp_path / "dumps" / "RC_2006-01.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 40)
    assert main(["run", str(tmp_path / "pipeline.toml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("rdial run: extract: RC_2006-01.zst: ")
    assert err[-1].startswith("rdial run: exit 1 in ") and "build 4 done/4" in err[-1]
    assert (tmp_path / "train.tsv").exists()


def test_print_config_shows_the_resolved_settings(tmp_path, capsys):
    (tmp_path / "pipeline.toml").write_text(TOML)
    assert main(["run", str(tmp_path / "pipeline.toml"), "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["build"]["preset"] == cfg["filter"]["preset"] == "rdial"
    assert (cfg["extract"]["buckets"], cfg["build"]["max_turns"], cfg["extract"]["inputs"]) == (
        4, 5, [str(tmp_path / "dumps")])
    assert cfg["export"][0] == [str(tmp_path / "corpus"), "--format", "dialogpt-tsv", "--split",
                                "train", "--out", str(tmp_path / "train.tsv")]
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("text, message", [
    ("[build]\nmax_turn = 5\n", "pipeline.toml: [build] unknown key 'max_turn' (keys: targets, "),
    ("[build]\nmax_turns = \"5\"\n", "pipeline.toml: [build] max_turns: expected an integer, got '5'"),
    ("[extract]\nbuckets = true\n", "pipeline.toml: [extract] buckets: expected an integer, got True"),
    ("[filter]\nshard_rows = 0\n", "pipeline.toml: --shard-rows: must be at least 1"),
    ("[[export]]\nformat = \"csv\"\n", "pipeline.toml: [export] argument --format: invalid choice: 'csv'"),
    ("[train]\nout = \"run\"\nsteps = 10\nmodle = \"tiny\"\n",
     "pipeline.toml: [train] unrecognized arguments: --modle tiny (--modle: did you mean --model?)"),
    ("colour = 1\n", "pipeline.toml: unknown key 'colour'"),
])
def test_config_errors_name_the_key_before_anything_runs(tmp_path, capsys, text, message):
    (tmp_path / "pipeline.toml").write_text('dumps = "dumps"\ncorpus = "corpus"\n' + text)
    assert main(["run", str(tmp_path / "pipeline.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rdial: error: " + message) and "\n" not in err
    assert not (tmp_path / "corpus").exists()


def test_train_table_trains_steps_more_each_time_the_shards_change(months, tmp_path, capsys):
    place(months, tmp_path, "2005-12")
    (tmp_path / "pipeline.toml").write_text(TOML + """
[train]
out = "run"
steps = 2
model = "tiny"
warmup_steps = 1
batch_tokens = 1024
max_seq_len = 32
eval_dialogues = 4
save_every = 0
progress = false
""")
    from rdial.pipeline.runner import newest_step

    assert main(["run", str(tmp_path / "pipeline.toml")]) == 0
    assert capsys.readouterr().err.strip().endswith(f"train done -> {tmp_path / 'corpus'}")
    assert newest_step(tmp_path / "run") == 2
    assert main(["run", str(tmp_path / "pipeline.toml")]) == 0  # same shards: no training
    assert capsys.readouterr().err.strip().endswith(f"train skipped -> {tmp_path / 'corpus'}")
    place(months, tmp_path, "2006-01")
    assert main(["run", str(tmp_path / "pipeline.toml")]) == 0  # new shards: --resume, 2 more
    assert newest_step(tmp_path / "run") == 4
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 4
