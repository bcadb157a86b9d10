"""python bench/bench_filter_counts.py --baseline-rev 55527b3   # the monthly filter, before/after

What the monthly filter run costs when the corpus-wide trigram totals are updated
(rdial/filter/trigram_totals.py) instead of recounted, against a baseline source tree:

  corpus   `rdial synth` --months from 2012-11 (default 3: 2012-11 2012-12 2013-01; --comments
           each, default 300,000; --seed 16); all but the last extracted, built and filtered
           (the last monthly run: its verdicts and, on this tree, its trigram totals are kept),
           then the last extracted and built incrementally
  filter   on a copy each: `rdial filter` (incremental: verdicts and totals reused) and
           `rdial filter --force` (from scratch); both must give byte-identical shards and equal
           stats (but run-only keys)
  baseline the same, with PYTHONPATH at --baseline-rev of this repository (`git archive`ed into
           the workdir), so both trees run on the same machine in one run; their shards must be
           byte-identical too

Every filter is its own child process; its CPU seconds (user + system of it and its workers)
and wall seconds are printed, with the load average before each, and the ratio baseline / this
tree. Also printed: wall seconds per step (stats/filter.json) and the size of CORPUS/cache/filter
and cache/filter_counts per chain. Dumps and corpora are kept under --workdir (default
/tmp/rdial-bench-filter-counts); delete it to regenerate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path



def months(n: int) -> list[str]:
    """n months from 2012-11 on (the issue's late-2012 months)."""
    return [f"{2012 + (10 + m) // 12}-{(10 + m) % 12 + 1:02d}" for m in range(n)]
RUN_ONLY = ("seconds", "seconds_per_step", "peak_rss_mb", "chains_judged", "chains_reused",
            "trigram_totals")


def timed(cmd: list[str], src: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    # cwd=src: `python -m` puts the working directory first on sys.path
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=src)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def prepare(src: Path, dumps: Path, base: Path, workers: list[str], names: list[str]) -> None:
    """All months but the last filtered, the last extracted and built, by the tree at `src`."""
    if (base / "stats" / "build.json").exists() and (base / "ready").exists():
        return
    shutil.rmtree(base, ignore_errors=True)
    rdial = [sys.executable, "-m", "rdial"]
    files = lambda ms: [str(dumps / f"{k}_{m}.zst") for m in ms for k in ("RC", "RS")]  # noqa: E731
    timed(rdial + ["extract", *files(names[:-1]), "--out", str(base), "--no-progress"], src)
    timed(rdial + ["build", str(base), "--no-progress", *workers], src)
    timed(rdial + ["filter", str(base), "--no-progress", *workers], src)
    timed(rdial + ["extract", *files(names[-1:]), "--out", str(base), "--no-progress"], src)
    timed(rdial + ["build", str(base), "--no-progress", *workers], src)
    (base / "ready").write_text("")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--comments", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline-rev", default="55527b3")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rdial-bench-filter-counts"))
    args = ap.parse_args(argv)
    MONTHS = months(args.months)
    here = Path(__file__).resolve().parents[1]
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    baseline = work / f"src-{args.baseline_rev}"
    if not (baseline / "rdial").is_dir():
        baseline.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(here), "archive", args.baseline_rev],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
    dumps = work / f"dumps-{args.months}x{args.comments}-s{args.seed}"
    if not (dumps / f"RS_{MONTHS[-1]}.zst").exists():
        timed([sys.executable, "-m", "rdial", "synth", "--out", str(dumps), "--months", *MONTHS,
               "--comments", str(args.comments), "--seed", str(args.seed), "--no-progress"], here)
    w = ["--workers", str(args.workers)]
    rdial = [sys.executable, "-m", "rdial", "filter", "--no-progress", *w]
    figures, outs = {}, {}
    for name, src in (("baseline", baseline), ("this tree", here)):
        base = work / f"base-{name.replace(' ', '-')}-{args.months}x{args.comments}"
        prepare(src, dumps, base, w, MONTHS)
        for run, extra in (("incremental", []), ("--force", ["--force"])):
            d = work / f"run-{name.replace(' ', '-')}-{run.strip('-')}"
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(base, d)
            figures[name, run] = timed(rdial + [str(d), *extra], src)
            stats = json.loads((d / "stats" / "filter.json").read_text())
            figures[name, run]["stats"] = stats
            outs[name, run] = ({str(p.relative_to(d)): p.read_bytes()
                                for p in sorted((d / "shards").rglob("*.parquet"))},
                               {k: v for k, v in stats.items() if k not in RUN_ONLY})
            figures[name, run]["cache"] = {c: du(d / "cache" / c) for c in ("filter", "filter_counts")}
    first = outs["baseline", "--force"]
    same = all(o == first for o in outs.values()) and len(first[0]) >= 3
    chains = figures["this tree", "incremental"]["stats"]["chains_in"]
    print(f"bench_filter_counts: months {' '.join(MONTHS)} x {args.comments:,} comments, "
          f"{chains:,} chains, workers {args.workers}")
    for (name, run), f in figures.items():
        s = f["stats"]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in s.get("seconds_per_step", {}).items())
        print(f"  {name:9s} filter {run:11s} {f['cpu']:7.2f} s CPU {f['wall']:7.2f} s wall "
              f"(load {f['load']:.1f}); {s['chains_judged']:,} judged; wall s per step: {steps}; "
              f"trigram totals: {s.get('trigram_totals', 'recounted (baseline)')}")
    for run in ("incremental", "--force"):
        b, t = figures["baseline", run], figures["this tree", run]
        print(f"  filter {run}: baseline / this tree = {b['cpu'] / t['cpu']:.2f}x CPU, "
              f"{b['wall'] / t['wall']:.2f}x wall")
    t = figures["this tree", "incremental"]
    print(f"  this tree: --force / incremental = "
          f"{figures['this tree', '--force']['cpu'] / t['cpu']:.2f}x CPU")
    for name in ("baseline", "this tree"):
        c = figures[name, "incremental"]["cache"]
        print(f"  {name:9s} cache after the incremental run: cache/filter {c['filter'] / 1e6:.1f} MB "
              f"({c['filter'] / chains:.0f} B a chain), cache/filter_counts "
              f"{c['filter_counts'] / 1e6:.1f} MB ({c['filter_counts'] / chains:.0f} B a chain)")
    print(f"  shards byte-identical and stats equal across all four runs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
