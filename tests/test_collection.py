"""Every test file under tests/ is collected: pytest's default `norecursedirs` once held
`build`, and tests/build/ (38 tests) silently never ran.

    python -m pytest tests/test_collection.py -q
"""

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def test_every_test_file_is_collected():
    on_disk = {p.relative_to(ROOT).as_posix() for p in TESTS.rglob("test_*.py")}
    assert "tests/build/test_stage.py" in on_disk  # the folder that used to be skipped
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    collected = {line.split("::", 1)[0] for line in out.stdout.splitlines() if "::" in line}
    missing = sorted(on_disk - collected)
    assert missing == [], f"test files pytest does not collect: {missing}"
