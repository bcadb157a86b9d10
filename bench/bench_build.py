"""python bench/bench_build.py            # ~2M comments, then 4x; prints rates, ratio, peak RSS

Benchmark of `rdial build` against the way DialoGPT's extractor builds chains, in one run:

  corpus S: `rdial synth` months 2017-01..02 (1M comments each, so 2M), `rdial extract`ed into
            32 buckets (~62k comments a bucket)
  corpus L: months 2017-01..08 (8M comments) into 128 buckets: 4x the comments, same bucket size

  baseline  on S: per bucket, the rows as Python dicts (Parquet -> to_pylist), dedupe by id,
            the usable set, the set of comments with a usable reply, a walk up `parent_id` from
            every leaf (DialoGPT's reddit_extractor loop), then the chain rows (ids, authors,
            texts, scores, times, over_18 from the submissions), sorted as rdial sorts them and
            written with rdial's own Parquet writer. It works per bucket rather than per month
            (smaller dicts: this favours the baseline) and keeps no ledger or stats.
  rdial     run_build(force=True) on S with 1 worker (one process, like the baseline; polars
            still uses its threads) and with --pool workers, and on L with 1 worker

Each measured run is its own child process; its peak RSS is its own VmHWM. The chains files of
rdial and of the baseline must be byte-identical. Output: comments/s of each, the ratio, peak
RSS, and the RSS growth from S to L.

Dumps and corpora are cached under --workdir (default /tmp/rdial-bench-build); delete it to
regenerate. The machine is shared: figures move with other people's load; rerun to compare.
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

MONTHS = [f"2017-{m:02d}" for m in range(1, 9)]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------

def ensure_dumps(workdir: Path, per_month: int) -> Path:
    dumps = workdir / f"dumps-{per_month}"
    if all((dumps / f"RC_{m}.zst").exists() for m in MONTHS):
        return dumps
    from rdial.synth import SynthConfig, generate_dumps
    log(f"synth: {len(MONTHS)} months x {per_month:,} comments -> {dumps} (once; cached)")
    generate_dumps(SynthConfig(out=dumps, months=MONTHS, comments=per_month, seed=0))
    return dumps


def ensure_corpus(workdir: Path, dumps: Path, months: list[str], buckets: int) -> Path:
    root = workdir / f"corpus-{len(months)}m-{buckets}b-{dumps.name}"
    if (root / "stats" / "extract.json").exists():
        return root
    from rdial.extract.stage import ExtractConfig, run_extract
    inputs = [dumps / f"{kind}_{m}.zst" for m in months for kind in ("RC", "RS")]
    log(f"extract: {len(inputs)} files -> {root} (once; cached)")
    run_extract(ExtractConfig(inputs=inputs, out=root, buckets=buckets, progress=False))
    return root


# --- children: one measured run each -----------------------------------------------------------

def peak_rss_mb() -> float:
    """Peak RSS of the largest process of this run: this one (VmHWM, not ru_maxrss: Linux
    carries ru_maxrss across exec, so a child would inherit the bench parent's peak) or one of
    its pool workers (their ru_maxrss, which starts from this process's peak at spawn)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (pool workers): less sensitive than
    wall time to other people's jobs on the shared machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_rdial(corpus: Path, workers: int) -> dict:
    from rdial.build.stage import BuildConfig, run_build
    start, cpu = time.perf_counter(), cpu_seconds()
    report = run_build(BuildConfig(corpus=corpus, preset="raw", workers=workers, force=True),
                       progress=False)  # chain building alone, as the baseline
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    assert not report.failed, report.failed
    return {"seconds": seconds, "cpu": cpu, "rss_mb": peak_rss_mb(), "comments": report.totals["records"],
            "chains": report.totals["chains"]}


UNUSABLE = {"", "[deleted]", "[removed]"}


def latest_by_id(rows: list[dict]) -> dict[str, dict]:
    best: dict[str, dict] = {}
    for r in rows:
        rank = (r["retrieved_on"] if r["retrieved_on"] is not None else -1, r["source"], r["line"])
        old = best.get(r["id"])
        if old is None or rank > old["rank"]:
            r["rank"] = rank
            best[r["id"]] = r
    return best


def baseline_bucket(comment_files: list[Path], submission_files: list[Path]):
    """DialoGPT's way, over one bucket: dicts, a walk up from every leaf, chain rows as dicts."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rdial import schema
    rows = [r for p in comment_files for r in pq.ParquetFile(p).read().to_pylist()]
    comments = latest_by_id(rows)
    subs = latest_by_id([r for p in submission_files for r in pq.ParquetFile(p).read().to_pylist()])
    usable = {cid for cid, c in comments.items() if (c["body"] or "").strip() not in UNUSABLE}
    parent = {}
    for cid in usable:
        c = comments[cid]
        p = c["parent_id"]
        if p and p.startswith("t1_") and p[3:] != cid and p[3:] in usable \
                and comments[p[3:]]["link_id"] == c["link_id"]:
            parent[cid] = p[3:]
    has_reply = set(parent.values())
    paths = []
    for cid in usable:
        if cid in has_reply:
            continue
        path = [cid]
        while path[-1] in parent and parent[path[-1]] not in path:
            path.append(parent[path[-1]])
        if len(path) >= 2:
            paths.append(path[::-1])

    def order(path):  # rdial's row order: the last turn's (link_id, created_utc, id)
        last = comments[path[-1]]
        created = last["created_utc"]
        return (last["link_id"], created is not None, created or 0, last["id"])

    paths.sort(key=order)
    turns = [[comments[i] for i in path] for path in paths]
    over_18 = {"t3_" + sid: s["over_18"] for sid, s in subs.items()}
    table = {
        "link_id": [t[-1]["link_id"] for t in turns],
        "subreddit": [t[-1]["subreddit"] for t in turns],
        "turn_ids": [[c["id"] for c in t] for t in turns],
        "turn_authors": [[c["author"] for c in t] for t in turns],
        "turn_texts": [[c["body"] for c in t] for t in turns],
        "turn_scores": [[c["score"] for c in t] for t in turns],
        "turn_created": [[c["created_utc"] for c in t] for t in turns],
        "over_18": [over_18.get(t[-1]["link_id"]) for t in turns],
    }
    return pa.table(table, schema=schema.CHAINS)


def child_baseline(corpus: Path, out: Path) -> dict:
    """Every bucket, written like rdial writes it (same writer), into `out`."""
    from rdial.build.stage import write_chains
    from rdial.corpus import Corpus
    c = Corpus.open(corpus)
    start, cpu = time.perf_counter(), cpu_seconds()
    records = chains = 0
    for bucket in c.nonempty_buckets("comments"):
        comment_files = c.bucket_files("comments", bucket)
        table = baseline_bucket(comment_files, c.bucket_files("submissions", bucket))
        write_chains(table, out / f"bucket={bucket:05d}.parquet")
        chains += table.num_rows
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    import pyarrow.parquet as pq
    for path in (corpus / "comments").glob("bucket=*/*.parquet"):
        records += pq.ParquetFile(path).metadata.num_rows
    return {"seconds": seconds, "cpu": cpu, "rss_mb": peak_rss_mb(), "comments": records,
            "chains": chains}


def same_files(a: Path, b: Path) -> tuple[bool, str]:
    names = sorted(p.name for p in a.glob("*.parquet"))
    if names != sorted(p.name for p in b.glob("*.parquet")):
        return False, "different bucket files"
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    return not differ, f"{len(names) - len(differ)}/{len(names)} bucket files byte-identical"


def measure(kind: str, corpus: Path, workers: int = 1, out: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--corpus", str(corpus), "--workers", str(workers),
           "--out", str(out)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(name: str, r: dict) -> str:
    rate = r["comments"] / r["seconds"]
    return (f"{name:<28} {r['comments']:>10,} comments {r['seconds']:>7.1f} s wall "
            f"{r['cpu']:>7.1f} s CPU {rate:>10,.0f} comments/s {r['rss_mb']:>6.0f} MB peak RSS "
            f"{r['chains']:>10,} chains")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rdial-bench-build"))
    ap.add_argument("--per-month", type=int, default=1_000_000, help="comments per synthetic month")
    ap.add_argument("--buckets", type=int, default=32, help="buckets of the 2-month corpus")
    ap.add_argument("--pool", type=int, default=2, help="workers of the pool run (default 2)")
    ap.add_argument("--child", choices=["rdial", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = child_rdial(args.corpus, args.workers) if args.child == "rdial" else \
            child_baseline(args.corpus, args.out)
        print(json.dumps(result))
        return 0

    dumps = ensure_dumps(args.workdir, args.per_month)
    small = ensure_corpus(args.workdir, dumps, MONTHS[:2], args.buckets)
    large = ensure_corpus(args.workdir, dumps, MONTHS, args.buckets * 4)

    log("measuring: baseline on S, rdial build on S (1 worker, then default workers), "
        "rdial build on L (each a child process)")
    baseline_out = args.workdir / "baseline-chains"
    shutil.rmtree(baseline_out, ignore_errors=True)
    base = measure("baseline", small, out=baseline_out)
    ours = measure("rdial", small)
    same, detail = same_files(small / "chains", baseline_out)
    pool = measure("rdial", small, workers=args.pool)
    big = measure("rdial", large)
    cores = len(os.sched_getaffinity(0))
    print(f"bench_build ({cores}-core machine shared with other people's jobs: figures move "
          f"with their load)")
    print(row("baseline (DialoGPT walk) S", base))
    print(row("rdial build, 1 worker S", ours))
    print(row(f"rdial build, {args.pool} workers S", pool))
    print(row("rdial build, 1 worker L=4xS", big))
    rate = lambda r: r["comments"] / r["seconds"]  # noqa: E731
    ratio, ratio_pool = rate(ours) / rate(base), rate(pool) / rate(base)
    growth = big["rss_mb"] / ours["rss_mb"] - 1
    ratio_cpu = base["cpu"] / base["comments"] * ours["comments"] / ours["cpu"]
    print(f"speed-up rdial/baseline (wall): {ratio:.1f}x with 1 worker, {ratio_pool:.1f}x with "
          f"{args.pool} workers (target >= 5x); by CPU time, 1 worker: {ratio_cpu:.1f}x")
    print(f"identical chains: {same} ({detail})")
    print(f"peak RSS S -> L (4x comments, 4x buckets): {ours['rss_mb']:.0f} MB -> "
          f"{big['rss_mb']:.0f} MB, {100 * growth:+.1f}% (target < +30%)")
    return 0 if same and ratio >= 5 and growth < 0.30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
