"""The README's Python API block runs as written, as a script of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_block_runs_as_written(tmp_path):
    code = readme_block("## Python API")
    assert 'if __name__ == "__main__":' in code and "from pathlib import Path" in code
    (tmp_path / "api.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # on one core (the stages then run their tasks in-process: no worker start-up to wait for)
    one_core = {min(os.sched_getaffinity(0))}
    out = subprocess.run([sys.executable, "api.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600, preexec_fn=lambda: os.sched_setaffinity(0, one_core))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert re.match(r"extract: 4 inputs \(4 done, 0 skipped, 0 failed\): 4,\d\d\d lines, ", lines[0])
    assert lines[1].startswith("build: 8 buckets (8 built, 0 up to date, 0 failed")
    assert any(line.startswith("filter: preset rdial, ") for line in lines)
    assert sorted(p.name for p in (tmp_path / "corpus" / "shards").iterdir()) == ["test", "train", "valid"]
    assert (tmp_path / "run" / "summary.json").exists()
