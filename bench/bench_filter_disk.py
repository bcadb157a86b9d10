"""The corpus folder's peak during `rdial filter --force`, this tree against a baseline revision.

    python bench/bench_filter_counts.py --baseline-rev 4408a79   # first: builds both corpora
    python bench/bench_filter_disk.py --baseline-rev 4408a79

Reuses bench_filter_counts' corpora (WORKDIR/base-{baseline,this-tree}-MxN, each filtered by
its own tree) and source tree (WORKDIR/src-REV); copies each corpus, runs the filter with
--force --workers 2 while summing the folder's allocated blocks every 50 ms, and prints the
peak above the start and above what the run keeps, with the ratio."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def size(root: Path) -> int:
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_blocks * 512
            except FileNotFoundError:  # renamed or freed while walking
                pass
    return total


def peak_run(src: Path, base: Path, copy: Path, workers: int) -> dict:
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy)
    start = size(copy)
    p = subprocess.Popen([sys.executable, "-m", "rdial", "filter", str(copy), "--force",
                          "--workers", str(workers), "--no-progress"], cwd=src,
                         env={**os.environ, "PYTHONPATH": str(src)}, stdout=subprocess.DEVNULL)
    peak, at = start, {}
    while p.poll() is None:
        s = size(copy)
        if s > peak:
            peak, at = s, {n.name: size(n) for n in sorted(copy.iterdir())}
        time.sleep(0.05)
    if p.returncode:
        raise SystemExit(f"rdial filter {copy} exited {p.returncode}")
    end = size(copy)
    shutil.rmtree(copy)
    return {"start": start, "peak": peak, "end": end, "at": at}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rev", required=True)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--comments", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rdial-bench-filter-counts"))
    args = ap.parse_args(argv)
    here = Path(__file__).resolve().parents[1]
    runs = {}
    for name, src in (("baseline", args.workdir / f"src-{args.baseline_rev}"), ("this tree", here)):
        base = args.workdir / f"base-{name.replace(' ', '-')}-{args.months}x{args.comments}"
        if not base.is_dir() or not src.is_dir():
            raise SystemExit(f"{base} or {src} missing: run bench/bench_filter_counts.py "
                             f"--baseline-rev {args.baseline_rev} first")
        runs[name] = r = peak_run(src, base, args.workdir / "disk-run", args.workers)
        at = ", ".join(f"{k} {v / 1e6:.1f}" for k, v in r["at"].items() if v >= 1e5)
        print(f"  {name:9s} filter --force: start {r['start'] / 1e6:.1f} MB, peak {r['peak'] / 1e6:.1f} "
              f"(+{(r['peak'] - r['start']) / 1e6:.1f} over the start, +{(r['peak'] - r['end']) / 1e6:.1f} "
              f"over what it keeps), end {r['end'] / 1e6:.1f}; MB at the peak: {at}")
    b, t = runs["baseline"], runs["this tree"]
    print(f"  peak above what the run keeps: baseline / this tree = "
          f"{(b['peak'] - b['end']) / (t['peak'] - t['end']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
