"""Peak resident memory of one task, for the stats (Linux; None elsewhere).

    reset_peak(); do_work(); print(peak_mb())

Linux keeps a process's high-water mark (VmHWM in /proc/self/status); writing "5" to
/proc/self/clear_refs resets it to the current RSS, so a worker that runs many tasks can report
each task's own peak. The filter stage reports the largest per step (`stats.peak_rss_mb`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None
