"""python bench/bench_synth.py             # 2M-line RC dump (zst, window log 31); prints both rates

Benchmark of `rdial synth` against a straightforward generator, in one invocation:

  rdial     `rdial synth --out DIR --comments N` (run as `python -m rdial.synth.cli`, the same
            command), one month, 2005 schema, zst with a 2 GiB
            window, multi-threaded streaming compression), the whole command: planning, text,
            RC and RS files, atomic publish
  baseline  the way one would write it without thinking about speed: per line, `random` picks
            words, parent and author, builds the same 18-key dict, `json.dumps`, and writes it
            into a single-threaded zstandard stream with the same window log 31; RC only (no
            threads, no submissions, no features). Run on --baseline-lines (default N/4) lines:
            its rate is per line, so the ratio is fair, and it keeps the run short.

Each is its own child process, so its peak RSS (ru_maxrss) and CPU time are its own. Output: wall
seconds, lines/s, CPU seconds, peak RSS of each, and the ratio rdial/baseline in lines/s. The
machine is shared (2 cores, other engineers' jobs): the load average is printed; rerun to compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def baseline(out: Path, lines: int) -> None:
    """The naive generator (runs in the child process)."""
    import json
    import random

    import zstandard

    rng = random.Random(0)
    words = ("the to and a of i it that is you in this for not be was on have but with are they "
             "just like so if my what do can game money work people time good really").split()
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)
    cctx = zstandard.ZstdCompressor(compression_params=params)
    start = 1133395200
    with open(out, "wb") as raw, cctx.stream_writer(raw) as w:
        for i in range(lines):
            body = " ".join(rng.choice(words) for _ in range(rng.randint(3, 30))).capitalize() + "."
            parent = f"t1_c{rng.randrange(max(i, 1)):x}" if rng.random() < 0.6 else "t3_178" + str(i % 97)
            rec = {"controversiality": 0, "body": body, "subreddit_id": "t5_6",
                   "link_id": "t3_178" + str(i % 97), "stickied": False, "subreddit": "reddit.com",
                   "score": rng.randint(-3, 50), "ups": 1, "author_flair_css_class": None,
                   "created_utc": start + i, "author_flair_text": None,
                   "author": f"user{rng.randrange(20000)}", "id": f"c{i:x}", "edited": False,
                   "parent_id": parent, "gilded": 0, "distinguished": None,
                   "retrieved_on": 1473738411}
            w.write((json.dumps(rec, separators=(",", ":")) + "\n").encode())


def measure(argv: list[str]) -> dict:
    """Run a child; wall seconds, CPU seconds (all its threads) and peak RSS from wait4."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def count_lines(path: Path) -> int:
    import zstandard

    n = 0
    with open(path, "rb") as fh, zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh) as r:
        while chunk := r.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000, help="RC lines for rdial synth")
    ap.add_argument("--baseline-lines", type=int, default=0, help="lines for the baseline (default lines/4)")
    ap.add_argument("--workers", type=int, default=0, help="rdial synth --workers (0: one per core)")
    ap.add_argument("--baseline-child", nargs=2, metavar=("OUT", "LINES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_child:
        baseline(Path(args.baseline_child[0]), int(args.baseline_child[1]))
        return
    n_base = args.baseline_lines or max(args.lines // 4, 1)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        out = Path(tmp) / "dumps"
        ours = measure([sys.executable, "-m", "rdial.synth.cli", "--out", str(out),
                        "--comments", str(args.lines), "--workers", str(args.workers)])
        rc = out / "RC_2005-12.zst"
        assert count_lines(rc) == args.lines
        size_mb = rc.stat().st_size / 1e6
        base_file = Path(tmp) / "baseline.zst"
        base = measure([sys.executable, __file__, "--baseline-child", str(base_file), str(n_base)])
        assert count_lines(base_file) == n_base
    r_ours, r_base = args.lines / ours["wall"], n_base / base["wall"]
    print(f"rdial synth --workers {args.workers or os.cpu_count()}:")
    print(f"rdial synth : {args.lines:>10,} lines  {ours['wall']:6.1f} s  {r_ours:>9,.0f} lines/s  "
          f"cpu {ours['cpu']:6.1f} s  peak RSS {ours['rss_mb']:,.0f} MB  (RC {size_mb:,.0f} MB zst + RS)")
    print(f"baseline    : {n_base:>10,} lines  {base['wall']:6.1f} s  {r_base:>9,.0f} lines/s  "
          f"cpu {base['cpu']:6.1f} s  peak RSS {base['rss_mb']:,.0f} MB  (RC only)")
    print(f"ratio       : rdial is {r_ours / r_base:.2f}x the baseline's lines/s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
