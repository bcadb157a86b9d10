"""python bench/bench_synth.py             # 2M-line RC dump (zst, window log 31); prints both rates

Benchmark of `rdial synth` against a straightforward generator, in one invocation:

  rdial     `rdial synth --out DIR --comments N` (run as `python -m rdial.synth.cli`, the same
            command), one month, 2005 schema, zst with a 2 GiB
            window, multi-threaded streaming compression), the whole command: planning, text,
            RC and RS files, atomic publish
  baseline  the same kind of lines written the obvious way: per line, `random` fills the same
            sentence templates word by word (same sentence counts), picks parent, thread and
            author, copies the same 18-key 2005 record, `json.dumps`, and writes the line into a
            single-threaded zstandard stream (level 1, window log 31). RC only: no thread
            trees, no submissions, no planted features, no manifest (all in rdial's time). Run
            on --baseline-lines (default N/4) lines: its rate is per line, so the ratio holds
            and the run stays short.

Each is its own child process, so its peak RSS (ru_maxrss) and CPU time (all its threads and
worker processes) are its own. The two alternate --repeat times and the best wall time of each
counts. Output: wall seconds, lines/s, CPU seconds, lines per CPU second, peak RSS, and the
ratios rdial/baseline. The machine is shared (2 cores, other engineers' jobs): the load average
is printed, and CPU time moves less with the load than wall time does.
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
    """The same kind of lines written the obvious way (runs in the child process)."""
    import json
    import random

    import zstandard

    from rdial.synth.eras import ERAS
    from rdial.synth.text import SLOTS, TEMPLATES

    rng = random.Random(0)
    templates = [t.split() for t in TEMPLATES]
    record = ERAS["2005"].comment
    params = zstandard.ZstdCompressionParameters.from_level(1, window_log=31)
    cctx = zstandard.ZstdCompressor(compression_params=params)
    start, threads = 1133395200, max(lines // 10, 1)

    def sentence() -> str:
        words = []
        for slot in rng.choice(templates):
            if slot in SLOTS:
                words.append(rng.choice(SLOTS[slot]))
            elif slot == ",":
                words[-1] += ","
            elif slot != "?":
                words.append(slot)
        text = " ".join(words)
        return text[:1].upper() + text[1:] + "."

    with open(out, "wb") as raw, cctx.stream_writer(raw) as w:
        for i in range(lines):
            n = rng.randint(5, 30) if rng.random() < 0.07 else min(int(rng.expovariate(0.7)) + 1, 30)
            body = " ".join(sentence() for _ in range(n))
            link = f"t3_{rng.randrange(threads):x}"
            parent = f"t1_c{rng.randrange(i):x}" if i and rng.random() < 0.65 else link
            rec = dict(record)
            rec.update(body=body, link_id=link, parent_id=parent, id=f"c{i:x}",
                       author=f"user{rng.randrange(20000)}", score=rng.randint(-3, 50),
                       created_utc=start + i * 2, retrieved_on=1473738411, subreddit="reddit.com",
                       subreddit_id="t5_6")
            rec["ups"] = rec["score"]
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
    ap.add_argument("--repeat", type=int, default=2, help="alternate runs of each; the best counts")
    ap.add_argument("--baseline-child", nargs=2, metavar=("OUT", "LINES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_child:
        baseline(Path(args.baseline_child[0]), int(args.baseline_child[1]))
        return
    n_base = args.baseline_lines or max(args.lines // 4, 1)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    runs: dict[str, list[dict]] = {"ours": [], "base": []}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        for _ in range(args.repeat):
            out = Path(tmp) / "dumps"
            runs["ours"].append(measure([sys.executable, "-m", "rdial.synth.cli", "--out", str(out),
                                         "--comments", str(args.lines), "--workers", str(args.workers)]))
            rc = out / "RC_2005-12.zst"
            assert count_lines(rc) == args.lines
            size_mb = rc.stat().st_size / 1e6
            base_file = Path(tmp) / "baseline.zst"
            runs["base"].append(measure([sys.executable, __file__, "--baseline-child", str(base_file),
                                         str(n_base)]))
            assert count_lines(base_file) == n_base
    ours = min(runs["ours"], key=lambda r: r["wall"])
    base = min(runs["base"], key=lambda r: r["wall"])
    r_ours, r_base = args.lines / ours["wall"], n_base / base["wall"]
    c_ours, c_base = args.lines / ours["cpu"], n_base / base["cpu"]
    print(f"rdial synth --workers {args.workers or os.cpu_count()}; best of {args.repeat} "
          f"(all walls: ours {[round(r['wall'], 1) for r in runs['ours']]}, "
          f"baseline {[round(r['wall'], 1) for r in runs['base']]})")
    print(f"rdial synth : {args.lines:>10,} lines  {ours['wall']:6.1f} s  {r_ours:>9,.0f} lines/s  "
          f"cpu {ours['cpu']:6.1f} s ({c_ours:,.0f} lines/cpu-s)  peak RSS {ours['rss_mb']:,.0f} MB"
          f"  (RC {size_mb:,.0f} MB zst + RS)")
    print(f"baseline    : {n_base:>10,} lines  {base['wall']:6.1f} s  {r_base:>9,.0f} lines/s  "
          f"cpu {base['cpu']:6.1f} s ({c_base:,.0f} lines/cpu-s)  peak RSS {base['rss_mb']:,.0f} MB"
          f"  (RC only)")
    print(f"ratio       : rdial is {r_ours / r_base:.2f}x the baseline's lines/s "
          f"({c_ours / c_base:.2f}x per CPU second)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
