import pytest

from rdial.cli import COMMANDS, main


def test_help_lists_every_stage_in_pipeline_order(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    positions = [out.index(f"\n    {name} ") for name in COMMANDS]
    assert positions == sorted(positions)
    assert list(COMMANDS) == ["demo", "synth", "extract", "build", "filter", "export", "train", "generate", "eval"]


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: rdial" in capsys.readouterr().out


def test_user_errors_are_one_line_with_status_2(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rdial: error: {tmp_path / 'nowhere'} is not an rdial corpus (no corpus.json); "
                   f"create one with `rdial extract DUMPS --out {tmp_path / 'nowhere'}`"]


def test_config_errors_name_the_flag(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--comments", "5"]) == 2
    assert capsys.readouterr().err.strip() == \
        "rdial: error: --comments: use at least 100 so that some chains survive"
