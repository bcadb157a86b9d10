"""Memory and time of reading DialoGPT's key files: rdial's per-bucket Arrow index vs a dict.

    python bench/bench_dialogpt_keys.py [--comments 5000000 10000000] [--work /tmp/keysbench]

A 2017 month holds ~80M comments; DialoGPT's training keys list ~147M keep keys over 144 months
and more dep keys. The synthetic month here has, per comment, a dep key and (for half of them)
a keep key (`t3_<6 hex>\\tt1_<7 hex>\\tdep|keep`, 28 bytes a line, ~40 comments a thread), gzip
level 1, as DialoGPT's .gz files. For each size (a stated fraction of a 2017 month, to fit
the time on a shared 2-core box), in a fresh process each:
  rdial     rdial.build.dialogpt_keys.index_month: gzip blocks of whole lines parsed by
            pyarrow, split by bucket range into 32 spill files, then keys/M.arrow with one lz4
            batch per bucket (1,024 buckets); then one bucket's keys read back and joined
            (match_keys)
  baseline  DialoGPT's reddit.py load_keys: every line into a Python dict (its --task=extract
            reads the dep and keep lines; the conv step skips the dep ones)
Prints wall time, peak RSS (ru_maxrss of the process: interpreter and libraries included) and
the ratios, and the slope of rdial's peak RSS per million comments (flat = bounded).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUCKETS = 1024


def generate(path: Path, comments: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    lines = 0
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for start in range(0, comments, 1_000_000):
            n = min(1_000_000, comments - start)
            links = np.char.mod("t3_%06x", rng.integers(0, 16**6, n // 40 + 1))[rng.integers(0, n // 40 + 1, n)]
            ids = np.char.mod("t1_%07x", np.arange(start, start + n) * 7 + 16**6)
            dep = np.char.add(np.char.add(np.char.add(links, "\t"), ids), "\tdep")
            keep_at = rng.random(n) < 0.5
            keep = np.char.add(np.char.add(np.char.add(links[keep_at], "\t"), ids[keep_at]), "\tkeep")
            block = "\n".join(dep.tolist() + keep.tolist()) + "\n"
            fh.write(block.encode())
            lines += n + int(keep_at.sum())
    return lines


def child_rdial(path: str, work: str) -> dict:
    sys.path.insert(0, str(ROOT))
    import polars as pl

    from rdial.build.dialogpt_keys import KeyIndex, index_month, match_keys
    root = Path(work) / "index"
    (root / "keys").mkdir(parents=True, exist_ok=True)
    (root / "discard").mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    info = index_month(root, "2017-06", Path(path), None, BUCKETS)
    index_s = time.perf_counter() - t
    t = time.perf_counter()
    index = KeyIndex(root=root, single=False, buckets=BUCKETS, fingerprint="", source=path)
    keys = index.bucket_keys(17)
    nodes = keys.select("link_id", "id").with_columns(pl.lit("RC_2017-06.zst").alias("source"))
    match = match_keys(nodes, keys, single=False)
    join_s = time.perf_counter() - t
    return {"index_s": index_s, "join_s": join_s, "bucket_keys": keys.height,
            "kept_in_bucket": int(match.keep.sum()), "lines": info["keep_lines"] + info["dep_lines"]}


def child_baseline(path: str, work: str) -> dict:
    t = time.perf_counter()
    d = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:  # reddit.py's load_keys, --task=extract
        for line in f:
            d[line.rstrip()] = 1
    return {"index_s": time.perf_counter() - t, "lines": len(d)}


def measure(side: str, path: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", side, str(path), str(work)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--comments", type=int, nargs="+", default=[5_000_000, 10_000_000])
    ap.add_argument("--work", type=Path, default=Path("/tmp/keysbench"))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        side, path, work = args.child
        result = (child_rdial if side == "rdial" else child_baseline)(path, work)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f}; a 2017 month is ~80M comments")
    rows = []
    for n in args.comments:
        path = args.work / f"keys-{n}.gz"
        t = time.perf_counter()
        lines = generate(path, n)
        print(f"{n:,} comments: {lines:,} key lines, {path.stat().st_size / 2**20:.0f} MiB gzipped "
              f"(generated in {time.perf_counter() - t:.0f}s)")
        work = args.work / f"run-{n}"
        subprocess.run(["rm", "-rf", str(work)], check=True)
        ours = measure("rdial", path, work)
        base = measure("baseline", path, work)
        rows.append((n, lines, ours, base))
        print(f"  rdial index: {ours['index_s']:.1f}s, {lines / ours['index_s'] / 1e6:.2f}M lines/s, "
              f"peak RSS {ours['peak_rss_mb']:.0f} MB; one bucket's keys ({ours['bucket_keys']:,}) "
              f"read and joined in {ours['join_s']:.2f}s")
        print(f"  baseline dict: {base['index_s']:.1f}s, peak RSS {base['peak_rss_mb']:.0f} MB")
        print(f"  ratio: memory {base['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x less, time "
              f"{base['index_s'] / ours['index_s']:.2f}x")
    if len(rows) >= 2:
        (n0, _, a, b), (n1, _, c, d) = rows[0], rows[-1]
        per_m = 1e6 / (n1 - n0)
        slope = (c["peak_rss_mb"] - a["peak_rss_mb"]) * per_m
        bslope = (d["peak_rss_mb"] - b["peak_rss_mb"]) * per_m
        sec = (c["index_s"] - a["index_s"]) * per_m
        print(f"slope per 1M comments: rdial peak RSS {slope:+.1f} MB, baseline {bslope:+.1f} MB; "
              f"rdial time {sec:.1f}s")
        print(f"extrapolated to 80M comments: rdial peak RSS ~{c['peak_rss_mb'] + slope * (80 - n1 / 1e6):.0f} MB, "
              f"{c['index_s'] + sec * (80 - n1 / 1e6):.0f}s; baseline ~"
              f"{d['peak_rss_mb'] + bslope * (80 - n1 / 1e6):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
