"""python bench/bench_incremental.py     # 12 synthetic months: the 12th added to a built corpus

What a monthly run costs once a corpus is long, against rebuilding it, in one run:

  corpus    `rdial synth` months from --start (default 2012-01), --months of them (default 12; --comments each,
            default 50,000; --seed 11), `rdial extract`ed into --buckets (default 8); months
            1..MM-1 are extracted and built first
  new month the last month is extracted into a copy of that corpus (timed), then
  rdial     `rdial build` on it: the increment (only the threads the month reaches,
            rdial/build/incremental.py)
  baseline  `rdial build --force` on a second copy: every bucket from all its months
  filter    `rdial filter` on the incremental corpus: it judges only the chains whose content
            is new (the verdicts of the filter run on months 1..MM-1 are kept in
            CORPUS/cache/filter, rdial/filter/verdicts.py); baseline: `rdial filter --force`
            (every chain judged) on the --force-built copy. Their shards must be byte-identical
            and their stats equal (but for run-only keys: seconds, peaks, judged/reused)
  prune     `rdial prune --dry-run`: the extracted bytes a user could drop

Every measured command is its own child process; its CPU seconds (user + system, the load on
a shared machine) and wall seconds are printed, and the ratio baseline / rdial. The chains of
both builds must be byte-identical and their totals equal, else it exits 1. How many buckets
the new month touched and how many threads were rebuilt come from stats/build.json.

--build-only stops after the two builds (the shape of docs/scale.md's monthly job, small:
`--start 2012-11 --months 3 --comments 300000 --seed 16 --buckets 10 --build-only`);
--rebuild-share is passed to the incremental build.

Dumps and corpora are cached under --workdir (default /tmp/rdial-bench-incremental); delete it
to regenerate.
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


def timed(cmd: list[str], env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "out": proc.stdout + proc.stderr}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--start", default="2012-01", help="the first month (YYYY-MM)")
    ap.add_argument("--comments", type=int, default=50_000)
    ap.add_argument("--buckets", type=int, default=8)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rdial-bench-incremental"))
    ap.add_argument("--build-only", action="store_true", help="no filter, no prune")
    ap.add_argument("--rebuild-share", type=float, default=None,
                    help="`rdial build --rebuild-share` of the incremental build (default: its own)")
    args = ap.parse_args(argv)
    y, m0 = int(args.start[:4]), int(args.start[5:7]) - 1
    months = [f"{y + (m0 + m) // 12}-{(m0 + m) % 12 + 1:02d}" for m in range(args.months)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    rdial = [sys.executable, "-m", "rdial"]
    work = args.workdir
    dumps = work / f"dumps-{args.start}-{args.months}x{args.comments}-s{args.seed}"
    if not (dumps / f"RS_{months[-1]}.zst").exists():
        timed(rdial + ["synth", "--out", str(dumps), "--months", *months, "--comments",
                       str(args.comments), "--seed", str(args.seed), "--no-progress"], env)
    base = work / f"base-{args.start}-{args.months}x{args.comments}-s{args.seed}-b{args.buckets}"
    if not (base / "stats" / "build.json").exists():
        shutil.rmtree(base, ignore_errors=True)
        old = [str(dumps / f"{k}_{m}.zst") for m in months[:-1] for k in ("RC", "RS")]
        timed(rdial + ["extract", *old, "--out", str(base), "--buckets", str(args.buckets),
                       "--no-progress"], env)
        timed(rdial + ["build", str(base), "--no-progress", "--workers", str(args.workers)], env)
    if not args.build_only and not (base / "cache" / "filter").is_dir():  # the last monthly run's filter: its verdicts
        timed(rdial + ["filter", str(base), "--no-progress", "--workers", str(args.workers)], env)
    inc, full = work / "inc", work / "full"
    for d in (inc, full):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(base, inc)
    new = [str(dumps / f"{k}_{months[-1]}.zst") for k in ("RC", "RS")]
    figures = {"extract (new month)": timed(rdial + ["extract", *new, "--out", str(inc),
                                                     "--no-progress"], env)}
    shutil.copytree(inc, full)
    w = ["--no-progress", "--workers", str(args.workers)]
    share = [] if args.rebuild_share is None else ["--rebuild-share", str(args.rebuild_share)]
    figures["build, incremental"] = timed(rdial + ["build", str(inc), *w, *share], env)
    figures["build --force (baseline)"] = timed(rdial + ["build", str(full), "--force", *w], env)
    same = all((inc / "chains" / p.name).read_bytes() == p.read_bytes()
               for p in sorted((full / "chains").glob("*.parquet")))
    stats = {d: json.loads((d / "stats" / "build.json").read_text()) for d in (inc, full)}
    equal = stats[inc]["totals"] == stats[full]["totals"]
    run = stats[inc]["run"]
    if args.build_only:
        print(f"bench_incremental: {args.months} months from {args.start} x {args.comments:,} "
              f"comments, {args.buckets} buckets, workers {args.workers}, load average "
              f"{os.getloadavg()[0]:.1f}")
        for name in ("build, incremental", "build --force (baseline)"):
            f = figures[name]
            print(f"  {name:26s} {f['cpu']:7.2f} s CPU {f['wall']:7.2f} s wall")
        b, i = figures["build --force (baseline)"], figures["build, incremental"]
        print(f"  build: baseline / incremental = {b['cpu'] / i['cpu']:.2f}x CPU, "
              f"{b['wall'] / i['wall']:.2f}x wall")
        print(f"  new month touched {run['built']} of {run['buckets']} buckets, "
              f"{run['built_from_chains']} rebuilt from their chains, built whole: "
              f"{run.get('built_whole', '(not recorded)')}, {run['threads_rebuilt']:,} threads "
              f"rebuilt of {stats[full]['run']['threads_rebuilt']:,}")
        print(f"  chains byte-identical: {same}; totals equal: {equal}")
        return 0 if same and equal else 1
    figures["filter, incremental"] = timed(rdial + ["filter", str(inc), *w], env)
    figures["filter --force (baseline)"] = timed(rdial + ["filter", str(full), "--force", *w], env)
    figures["prune --dry-run"] = timed(rdial + ["prune", str(inc), "--dry-run"], env)

    fstats = {d: json.loads((d / "stats" / "filter.json").read_text()) for d in (inc, full)}
    run_only = ("seconds", "seconds_per_step", "peak_rss_mb", "chains_judged", "chains_reused",
                "trigram_totals")  # how the counts were got (updated or recounted), not what they are
    shards = {d: {str(p.relative_to(d)): p.read_bytes() for p in sorted((d / "shards").rglob("*.parquet"))}
              for d in (inc, full)}
    same_shards = shards[inc] == shards[full] and len(shards[full]) >= 3
    same_fstats = ({k: v for k, v in fstats[inc].items() if k not in run_only}
                   == {k: v for k, v in fstats[full].items() if k not in run_only})
    print(f"bench_incremental: {args.months} months x {args.comments:,} comments, "
          f"{args.buckets} buckets, workers {args.workers}, load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, f in figures.items():
        print(f"  {name:26s} {f['cpu']:7.2f} s CPU {f['wall']:7.2f} s wall")
    b, i = figures["build --force (baseline)"], figures["build, incremental"]
    print(f"  build: baseline / incremental = {b['cpu'] / i['cpu']:.2f}x CPU, "
          f"{b['wall'] / i['wall']:.2f}x wall")
    print(f"  new month touched {run['built']} of {run['buckets']} buckets, "
          f"{run['built_from_chains']} rebuilt from their chains, built whole: "
          f"{run.get('built_whole', '(not recorded)')}, {run['threads_rebuilt']:,} "
          f"threads rebuilt of {stats[full]['run']['threads_rebuilt']:,}")
    b, i = figures["filter --force (baseline)"], figures["filter, incremental"]
    print(f"  filter: baseline / incremental = {b['cpu'] / i['cpu']:.2f}x CPU, "
          f"{b['wall'] / i['wall']:.2f}x wall")
    for d, name in ((inc, "incremental"), (full, "baseline")):
        f = fstats[d]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in f.get("seconds_per_step", {}).items())
        print(f"  filter {name:11s}: {f['chains_judged']:,} chains judged, "
              f"{f['chains_reused']:,} verdicts reused of {f['chains_in']:,}; wall s per step: {steps}")
    cache = sum(p.stat().st_size for p in (inc / "cache" / "filter").glob("*.parquet"))
    chains = sum(p.stat().st_size for p in (inc / "chains").glob("*.parquet"))
    print(f"  verdict cache {cache / 1e6:.1f} MB beside {chains / 1e6:.1f} MB of chains")
    print("  " + figures["prune --dry-run"]["out"].strip().splitlines()[-1])
    print(f"  chains byte-identical: {same}; totals equal: {equal}; shards byte-identical: "
          f"{same_shards}; filter stats equal: {same_fstats}")
    return 0 if same and equal and same_shards and same_fstats else 1


if __name__ == "__main__":
    sys.exit(main())
