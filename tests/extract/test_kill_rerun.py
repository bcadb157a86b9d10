"""A run killed at any moment (SIGKILL, no cleanup), then rerun, ends with exactly the output of
an uninterrupted run: same published files, same rows, nothing left over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def command(dumps: Path, out: Path) -> list[str]:
    # this command alone (python -m rdial.extract.cli), so other stages cannot break the test
    return [sys.executable, "-m", "rdial.extract.cli", str(dumps), "--out", str(out), "--buckets",
            "8", "--workers", "1", "--buffer-mb", "1", "--no-progress"]


def run_to_end(dumps: Path, out: Path) -> None:
    subprocess.run(command(dumps, out), check=True, cwd=ROOT, env=_env(), capture_output=True)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def kill_when(dumps: Path, out: Path, condition) -> None:
    proc = subprocess.Popen(command(dumps, out), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not condition(out):
            if proc.poll() is not None:
                pytest.fail("the run finished before the kill point; the test inputs are too small")
            if time.monotonic() > deadline:
                pytest.fail("kill point never reached")
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def mid_first_input(out: Path) -> bool:
    """The first input has spilled rows to its staging directory (1 MiB buffer)."""
    staging = out / "_staging"
    return staging.exists() and any(p.is_file() for p in staging.rglob("*"))


def at_first_ledger_write(out: Path) -> bool:
    """The first input is published and its ledger entry is being written (or just was)."""
    ledger = out / "_ledger" / "extract"
    return ledger.exists() and any(p.suffix == ".json" for p in ledger.iterdir())


@pytest.fixture(scope="module")
def runs(rx, tmp_path_factory) -> tuple[Path, Path]:
    """The dumps (three inputs, one bad line each) and their uninterrupted corpus."""
    base = tmp_path_factory.mktemp("kill")
    dumps = base / "dumps"
    for i, n in enumerate((60_000, 45_000, 30_000)):
        lines = rx.many_comments(n, threads=300, start=i * 1_000_000)
        lines[7] = b'{"broken": '
        rx.write_dump(dumps / f"RC_2005-1{i}.zst", lines)
    run_to_end(dumps, base / "clean")
    return dumps, base / "clean"


def published(rx, out: Path) -> tuple:
    files = rx.published_files(out)
    assert list(out.rglob(".tmp-*")) == [] and not (out / "_staging").exists()
    assert sorted(p.name for p in (out / "_ledger" / "extract").iterdir()) == [
        "RC_2005-10.zst.json", "RC_2005-11.zst.json", "RC_2005-12.zst.json"]
    return sorted(files), rx.read_table(out)


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", [mid_first_input, at_first_ledger_write])
def test_killed_then_rerun_equals_uninterrupted(rx, tmp_path, runs, kill_point):
    dumps, clean = runs
    killed = tmp_path / "killed"
    kill_when(dumps, killed, kill_point)
    run_to_end(dumps, killed)
    clean_files, clean_rows = published(rx, clean)
    killed_files, killed_rows = published(rx, killed)
    assert killed_files == clean_files
    assert clean_rows.num_rows == 135_000 - 3
    assert killed_rows.equals(clean_rows)
    for rel in clean_files:  # quarantine files byte for byte
        if rel.startswith("quarantine/"):
            assert (killed / rel).read_bytes() == (clean / rel).read_bytes()


@pytest.mark.slow
def test_sigterm_is_an_interruption_exit_130_and_rerun_equals_uninterrupted(rx, tmp_path, runs):
    dumps, clean = runs
    stopped = tmp_path / "stopped"
    proc = subprocess.Popen(command(dumps, stopped), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not mid_first_input(stopped):
        assert proc.poll() is None, "the run finished before the signal"
        assert time.monotonic() < deadline, "never reached the middle of the first input"
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)  # systemd, timeout(1), kill: stopped like Ctrl-C, not killed
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().endswith("rdial: interrupted\n")
    run_to_end(dumps, stopped)
    assert published(rx, stopped)[0] == published(rx, clean)[0]
    assert rx.read_table(stopped).equals(rx.read_table(clean))
