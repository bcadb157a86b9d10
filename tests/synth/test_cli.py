"""`rdial synth`: flags -> SynthConfig -> files; bad flags exit 2 with the flag named."""

import json

import pytest

from rdial.cli import main


def test_cli_writes_months_and_manifest(tmp_path, capsys):
    out = tmp_path / "dumps"
    rc = main(["synth", "--out", str(out), "--months", "2005-12", "2006-01", "--comments", "250",
               "--format", "gz", "--seed", "3", "--manifest"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "RC_2005-12.gz", "RC_2006-01.gz", "RS_2005-12.gz", "RS_2006-01.gz", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["RC_2006-01.gz"]["lines"] == 250
    assert manifest["config"]["seed"] == 3 and manifest["config"]["format"] == "gz"
    assert "RC_2006-01.gz: 250 lines" in capsys.readouterr().err


def test_cli_without_manifest_writes_only_dumps(tmp_path):
    assert main(["synth", "--out", str(tmp_path), "--comments", "50", "--format", "json"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["RC_2005-12.json", "RS_2005-12.json"]
    assert (tmp_path / "RC_2005-12.json").read_bytes().count(b"\n") == 50


@pytest.mark.parametrize("argv, flag", [
    (["--months", "2005-13"], "--months"),
    (["--months", "2006-01", "2005-12"], "--months"),
    (["--comments", "-1"], "--comments"),
    (["--deleted-rate", "0.9"], "--deleted-rate"),
    (["--format", "bz2", "--level", "12"], "--level"),
])
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, argv, flag):
    assert main(["synth", "--out", str(tmp_path / "o")] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rdial: error: {flag}:") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_unwritable_out_is_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "sub"), "--comments", "10"]) == 2
    assert "rdial: error:" in capsys.readouterr().err
