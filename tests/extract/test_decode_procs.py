"""Decode worker processes (rdial/extract/decode_procs.py): the output is byte for byte the
in-process one for any process and thread count; a worker that dies fails its input by name
instead of hanging; workers die with their parent; Ctrl-C still exits 130 and publishes nothing
half-done; --decode-procs is validated and `auto` keeps small or parallel inputs in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdial.errors import ConfigError
from rdial.extract.config import ExtractConfig
from rdial.extract.decode_procs import DecodeProcesses, DecodeWorkerDied
from rdial.extract.plan import AUTO_PROCS_MIN_BYTES, InputTask, decode_procs_for
from rdial.extract.stage import run_extract

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("seconds", "seconds_reading", "seconds_writing", "decode_procs", "decode_procs_peak_rss",
          "decode_procs_cpu_seconds")


def mixed_lines(rx, n: int) -> list[bytes]:
    """2005-era comments with the drift, blank and bad lines every block path must handle."""
    lines = rx.many_comments(n, threads=90)
    for i in range(0, n, 997):
        lines[i] = rx.comment(f"d{i:x}", "t3_3e8", created_utc=str(1134365188 + i),
                              stickied="false", score="7")
    lines[5], lines[400], lines[401] = b"", b'{"id": "cut", "body": ', b"null"
    lines[n // 2] = lines[n // 2] + lines[n // 2 + 1]   # glued records
    lines[n - 3] = b'{"id": true, "link_id": "t3_x", "parent_id": "t3_x", "body": "b"}'
    lines[0] = b"\xef\xbb\xbf" + lines[0]
    return lines


def extract(dumps: Path, out: Path, **kw):
    return run_extract(ExtractConfig(inputs=[dumps], out=out, buckets=8, workers=1,
                                     progress=False, buffer_mb=1, **kw))


def stats_of(out: Path, name: str) -> dict:
    stats = json.loads((out / "stats" / "extract" / f"{name}.json").read_text())
    return {k: v for k, v in stats.items() if k not in TIMING}


def test_output_is_byte_identical_for_any_process_and_thread_count(rx, dumps, tmp_path):
    rx.write_dump(dumps / "RC_2005-12.zst", mixed_lines(rx, 40_000))  # 3 blocks (4 MiB)
    rx.write_dump(dumps / "RS_2005-12.json", [rx.submission(f"s{i}") for i in range(300)])
    runs = {}
    for procs, threads in (("0", 2), ("1", 1), ("2", 2), ("3", 1)):
        out = tmp_path / f"c{procs}-{threads}"
        report = extract(dumps, out, decode_procs=procs, threads=threads)
        assert report.exit_code == 0
        runs[procs, threads] = out
        assert json.loads((out / "stats" / "extract" / "RC_2005-12.zst.json").read_text())[
            "decode_procs"] == int(procs)
    first = runs["0", 2]
    files = rx.published_files(first)
    assert len([f for f in files if f.startswith("comments/")]) == 8
    quarantine = [json.loads(x) for x in files["quarantine/RC_2005-12.zst.jsonl"].splitlines()]
    assert [(e["line"], e["reason"]) for e in quarantine] == [
        (401, "bad_json"), (402, "not_an_object"), (20001, "glued_records"),
        (39998, "bad_field:id")]
    stats = stats_of(first, "RC_2005-12.zst")
    assert (stats["lines"], stats["good"], stats["blank"]) == (40_000, 39_995, 1)
    for key, out in runs.items():
        assert rx.published_files(out) == files, key  # tables and quarantine, byte for byte
        for name in ("RC_2005-12.zst", "RS_2005-12.json"):
            assert stats_of(out, name) == stats_of(first, name), key


def test_a_worker_that_dies_is_an_error_naming_the_input_not_a_hang(rx):
    block = b"\n".join(rx.many_comments(50)) + b"\n"
    with DecodeProcesses(1, kind="comments", max_line_bytes=1 << 20, name="RC_2005-12.zst") as procs:
        assert procs.decode(block, None, None).n_lines == 50  # alive: it decodes
        procs.workers[0].kill()
        procs.workers[0].wait()
        with pytest.raises(DecodeWorkerDied, match=r"^RC_2005-12\.zst: decode worker \d+ died "
                                                   r"while decoding a block \(killed by SIGKILL\)"):
            procs.decode(block, None, None)
        start = time.monotonic()
        with pytest.raises(DecodeWorkerDied, match="killed by SIGKILL"):  # later calls too, at once
            procs.decode(block, None, None)
        assert time.monotonic() - start < 1


def test_a_dead_worker_fails_its_input_and_the_others_go_on(rx, dumps, tmp_path, monkeypatch):
    import rdial.extract.task as task_module

    class DyingWorkers(DecodeProcesses):
        def __init__(self, procs, **kw):
            super().__init__(procs, **kw)
            if kw["name"] == "RC_2005-11.zst":
                for proc in self.workers:
                    proc.kill()

    monkeypatch.setattr(task_module, "DecodeProcesses", DyingWorkers)
    rx.write_dump(dumps / "RC_2005-11.zst", rx.many_comments(2000))
    rx.write_dump(dumps / "RC_2005-12.zst", rx.many_comments(1000, start=5000))
    out = tmp_path / "c"
    report = extract(dumps, out, decode_procs="2")
    assert report.exit_code == 1
    failed = {r.name: r.message for r in report.failed}
    assert list(failed) == ["RC_2005-11.zst"]
    assert "RC_2005-11.zst: decode worker" in failed["RC_2005-11.zst"]
    assert "killed by SIGKILL" in failed["RC_2005-11.zst"]
    # nothing of the failed input is published, the other input is
    assert sorted({p.name for p in (out / "comments").rglob("*.parquet")}) == ["RC_2005-12.zst.parquet"]
    assert sorted(p.name for p in (out / "_ledger" / "extract").iterdir()) == ["RC_2005-12.zst.json"]
    assert rx.read_table(out).num_rows == 1000


def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for a reaper counts as exited)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(map(_gone, pids)):
        time.sleep(0.05)
    return [p for p in pids if not _gone(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_parent_killed_by_sigkill():
    script = ("import sys, time\n"
              "from rdial.extract.decode_procs import DecodeProcesses\n"
              "p = DecodeProcesses(2, kind='comments', max_line_bytes=1 << 20, name='x')\n"
              "print(*[w.pid for w in p.workers], flush=True)\n"
              "time.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    pids = [int(x) for x in parent.stdout.readline().split()]
    assert len(pids) == 2 and not any(map(_gone, pids))
    parent.kill()
    parent.wait()
    assert _wait_gone(pids) == []


@pytest.mark.slow
def test_ctrl_c_exits_130_kills_the_workers_and_publishes_nothing_half_done(rx, tmp_path):
    dumps = tmp_path / "dumps"
    rx.write_dump(dumps / "RC_2005-12.zst", rx.many_comments(150_000, threads=300))
    out = tmp_path / "c"
    cmd = [sys.executable, "-m", "rdial.extract.cli", str(dumps), "--out", str(out), "--buckets",
           "8", "--workers", "1", "--buffer-mb", "1", "--no-progress", "--decode-procs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # its own session, as a terminal's foreground job: Ctrl-C goes to the whole group
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    staging = out / "_staging"
    while not (staging.exists() and any(p.is_file() for p in staging.rglob("*"))):  # a spill
        assert proc.poll() is None, "the run finished before the signal"
        assert time.monotonic() < deadline, "never reached the middle of the input"
        time.sleep(0.002)
    workers = _children_of(proc.pid)
    assert len(workers) == 2  # the decode workers, mid-input
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().endswith("rdial: interrupted\n")
    assert _wait_gone(workers) == []
    assert list(out.glob("comments/*/*.parquet")) == []   # nothing half-done published
    assert list(out.glob("_ledger/extract/*")) == []


def test_decode_procs_flag_is_validated_by_name(tmp_path):
    for bad in ("two", "-1", "65", "1.5"):
        with pytest.raises(ConfigError, match=r"^--decode-procs: must be auto or a number"):
            ExtractConfig(inputs=[tmp_path], out=tmp_path / "c", decode_procs=bad)
    assert ExtractConfig(inputs=[tmp_path], out=tmp_path / "c", decode_procs=" AUTO").decode_procs == "auto"
    assert ExtractConfig(inputs=[tmp_path], out=tmp_path / "c", decode_procs=0).decode_procs == "0"


def test_auto_uses_processes_only_for_a_big_input_with_cores_to_spare(tmp_path, monkeypatch):
    import rdial.extract.plan as plan_module

    monkeypatch.setattr(plan_module, "default_workers", lambda: 2)
    monkeypatch.setattr(plan_module.os, "getloadavg", lambda: (0.9, 1.0, 1.0))  # quiet
    big, small = tmp_path / "RC_big.zst", tmp_path / "RC_small.zst"
    with open(big, "wb") as fh:
        fh.truncate(AUTO_PROCS_MIN_BYTES)
    small.write_bytes(b"x" * 1000)

    def procs(path, running, **kw):
        cfg = ExtractConfig(inputs=[tmp_path], out=tmp_path / "c", **kw)
        task = InputTask(path=path, name=path.name, fmt="zst", kind="comments",
                         corpus_root=tmp_path, buckets=8, fingerprint="", max_line_bytes=1024,
                         buffer_bytes=1)
        return decode_procs_for(cfg, task, running)

    assert procs(big, 1, workers=2) == 2          # one big input, 2 cores: 2 workers
    assert procs(big, 2, workers=2) == 0          # two inputs in parallel already fill them
    assert procs(big, 5, workers=1) == 2          # one input at a time
    assert procs(small, 1, workers=2) == 0        # start-up would cost more than it saves
    assert procs(big, 1, workers=2, executor="ray") == 0
    assert procs(small, 2, workers=2, decode_procs="3") == 3  # N is N
    monkeypatch.setattr(plan_module.os, "getloadavg", lambda: (2.0, 1.0, 1.0))  # no idle core
    assert procs(big, 1, workers=2) == 0
    assert procs(big, 1, workers=2, decode_procs="2") == 2
