"""Workers die with their parent; Ctrl-C and SIGTERM stop a pool at once, quietly, exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")

# A parent that runs 2 long tasks on the pool; each worker writes its pid, then sleeps.
PARENT = """
import os, sys, time
from pathlib import Path
from rdial.executor import interrupt_on_sigterm, run_tasks

def task(i):
    Path(sys.argv[1], f"worker-{i}").write_text(str(os.getpid()))
    time.sleep(120)
    return i

if __name__ == "__main__":
    interrupt_on_sigterm()
    try:
        run_tasks(task, [0, 1], workers=2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130)
"""


def start_parent(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    time.sleep(0.2)  # both pid files complete
    return proc, [int(p.read_text()) for p in sorted(tmp_path.glob("worker-*"))]


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return status != "Z"  # a zombie is dead, waiting for init to reap it


def wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while (living := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return living


def test_workers_die_when_the_parent_is_killed(tmp_path):
    proc, workers = start_parent(tmp_path)
    assert [alive(p) for p in workers] == [True, True]
    proc.send_signal(signal.SIGKILL)  # what the OOM killer does: no cleanup at all
    proc.wait()
    assert wait_gone(workers) == []


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interruption_stops_the_pool_quietly_with_130(tmp_path, how):
    proc, workers = start_parent(tmp_path)
    if how == "ctrl-c":  # the terminal signals the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    else:  # kill, timeout, systemd: the parent alone
        proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10  # not after the 120 s tasks
    assert proc.returncode == 130
    assert err.decode() == "interrupted\n"  # no worker traceback
    assert wait_gone(workers) == []
