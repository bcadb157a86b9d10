import pytest

from rdial.cli import COMMANDS, main


def test_help_lists_every_stage_in_pipeline_order(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    positions = [out.index(f"\n    {name} ") for name in COMMANDS]
    assert positions == sorted(positions)
    assert list(COMMANDS) == ["demo", "synth", "extract", "build", "filter", "export", "tokenize", "train",
                              "generate", "eval", "run", "status", "prune"]


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


def test_help_imports_no_stage(tmp_path):
    """`rdial --help` loads neither polars, pyarrow nor torch: only the command that runs is imported."""
    import subprocess
    import sys

    code = ("import sys, contextlib, io\nfrom rdial.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in ('polars', 'pyarrow', 'torch', 'zstandard', 'rdial.synth',"
            " 'rdial.extract', 'rdial.build', 'rdial.filter') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_command_help_matches_its_module():
    import importlib

    from rdial.cli import command_help

    for name, module in COMMANDS.items():
        assert command_help(name) == importlib.import_module(module).HELP


def test_an_unknown_flag_prints_the_command_usage_and_the_closest_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build", str(tmp_path), "--max-trns", "3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage: rdial build [-h]")
    assert err[-1] == ("rdial build: error: unrecognized arguments: --max-trns 3 "
                       "(--max-trns: did you mean --max-turns?)")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_help_states_its_default_twice(name, capsys):
    with pytest.raises(SystemExit):
        main([name, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in text.split(" --")[1:]:
        assert option.count("(default") <= 1, option


def test_every_long_running_command_has_the_same_progress_flags(capsys):
    for name in ("synth", "extract", "build", "filter", "train", "run"):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "--progress, --no-progress" in capsys.readouterr().out, name
