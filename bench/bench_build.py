"""python bench/bench_build.py            # ~2M comments, then 4x; prints rates, ratio, peak RSS

Benchmark of `rdial build` against the way DialoGPT's extractor builds chains, in one run:

  corpus S: `rdial synth` months 2017-01..02 (1M comments each, so 2M), `rdial extract`ed into
            32 buckets (~62k comments a bucket)
  corpus L: months 2017-01..08 (8M comments) into 128 buckets: 4x the comments, same bucket size

  rdial     run_build(workers=1, force=True) on S and on L (single process, like the baseline)
  baseline  on S: per bucket, the rows as Python dicts (Parquet -> to_pylist), dedupe by id,
            the usable set, the set of comments with a usable reply, then a walk up `parent_id`
            from every leaf (DialoGPT's reddit_extractor loop). Same semantics, same files; it
            writes nothing (rdial also writes Parquet, ledger and stats), and works per bucket
            rather than per month (smaller dicts: this favours the baseline)

Each measured run is its own child process, so its peak RSS (ru_maxrss) is its own. The chains
of both are compared (ids of every turn of every chain, as a sorted list digest): they must be
identical. Output: comments/s of each, the ratio, peak RSS, and the RSS growth from S to L.

Dumps and corpora are cached under --workdir (default /tmp/rdial-bench-build); delete it to
regenerate. The machine is shared: figures move with other people's load; rerun to compare.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
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
    """This process's high-water RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across
    exec, so a child would inherit the parent's peak (synth and extract ran there)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_rdial(corpus: Path, workers: int) -> dict:
    from rdial.build.stage import BuildConfig, run_build
    start = time.perf_counter()
    report = run_build(BuildConfig(corpus=corpus, workers=workers, force=True), progress=False)
    seconds = time.perf_counter() - start
    assert not report.failed, report.failed
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "comments": report.totals["records"],
            "chains": report.totals["chains"], "digest": rdial_digest(corpus)}


def rdial_digest(corpus: Path) -> str:
    import pyarrow.parquet as pq
    chains = []
    for path in sorted((corpus / "chains").glob("bucket=*.parquet")):
        chains += ["\x1f".join(ids) for ids in pq.read_table(path, columns=["turn_ids"])
                   .column("turn_ids").to_pylist()]
    return digest(chains)


def digest(chains: list[str]) -> str:
    h = hashlib.sha256()
    for line in sorted(chains):
        h.update(line.encode() + b"\n")
    return f"{len(chains)}:{h.hexdigest()[:16]}"


UNUSABLE = {"", "[deleted]", "[removed]"}


def baseline_bucket(files: list[Path]) -> list[str]:
    """DialoGPT's way, over one bucket's records: dicts, then a walk up from every leaf."""
    import pyarrow.parquet as pq
    comments: dict[str, dict] = {}
    for path in files:
        for r in pq.ParquetFile(path).read().to_pylist():
            old = comments.get(r["id"])
            rank = (r["retrieved_on"] if r["retrieved_on"] is not None else -1, r["source"], r["line"])
            if old is None or rank > old["rank"]:
                r["rank"] = rank
                comments[r["id"]] = r
    usable = {cid for cid, c in comments.items() if (c["body"] or "").strip() not in UNUSABLE}
    parent = {}
    for cid in usable:
        c = comments[cid]
        p = c["parent_id"]
        if p and p.startswith("t1_") and p[3:] != cid and p[3:] in usable \
                and comments[p[3:]]["link_id"] == c["link_id"]:
            parent[cid] = p[3:]
    has_reply = set(parent.values())
    chains = []
    for cid in usable:
        if cid in has_reply:
            continue
        path = [cid]
        while path[-1] in parent and parent[path[-1]] not in path:
            path.append(parent[path[-1]])
        if len(path) >= 2:
            chains.append("\x1f".join(reversed(path)))
    return chains


def child_baseline(corpus: Path) -> dict:
    start = time.perf_counter()
    chains, records = [], 0
    for bucket_dir in sorted((corpus / "comments").glob("bucket=*")):
        files = sorted(bucket_dir.glob("*.parquet"))
        chains += baseline_bucket(files)
    seconds = time.perf_counter() - start
    import pyarrow.parquet as pq
    for path in (corpus / "comments").glob("bucket=*/*.parquet"):
        records += pq.ParquetFile(path).metadata.num_rows
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "comments": records,
            "chains": len(chains), "digest": digest(chains)}


def measure(kind: str, corpus: Path, workers: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--corpus", str(corpus), "--workers", str(workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(name: str, r: dict) -> str:
    rate = r["comments"] / r["seconds"]
    return (f"{name:<28} {r['comments']:>10,} comments {r['seconds']:>8.1f} s {rate:>12,.0f} comments/s"
            f" {r['rss_mb']:>8.0f} MB peak RSS  {r['chains']:>9,} chains")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/rdial-bench-build"))
    ap.add_argument("--per-month", type=int, default=1_000_000, help="comments per synthetic month")
    ap.add_argument("--buckets", type=int, default=32, help="buckets of the 2-month corpus")
    ap.add_argument("--child", choices=["rdial", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = child_rdial(args.corpus, args.workers) if args.child == "rdial" else child_baseline(args.corpus)
        print(json.dumps(result))
        return 0

    dumps = ensure_dumps(args.workdir, args.per_month)
    small = ensure_corpus(args.workdir, dumps, MONTHS[:2], args.buckets)
    large = ensure_corpus(args.workdir, dumps, MONTHS, args.buckets * 4)

    log("measuring: rdial build on S, baseline on S, rdial build on L (each a child process)")
    ours = measure("rdial", small)
    base = measure("baseline", small)
    big = measure("rdial", large)
    print("bench_build (shared 2-core machine: other people's jobs move these figures)")
    print(row("baseline (DialoGPT walk) S", base))
    print(row("rdial build, 1 worker S", ours))
    print(row("rdial build, 1 worker L=4xS", big))
    ratio = (ours["comments"] / ours["seconds"]) / (base["comments"] / base["seconds"])
    growth = big["rss_mb"] / ours["rss_mb"] - 1
    same = ours["digest"] == base["digest"]
    print(f"speed-up rdial/baseline: {ratio:.1f}x (target >= 5x)")
    print(f"identical chains: {same} ({ours['digest']} vs {base['digest']})")
    print(f"peak RSS S -> L (4x comments, 4x buckets): {ours['rss_mb']:.0f} MB -> "
          f"{big['rss_mb']:.0f} MB, {100 * growth:+.1f}% (target < +30%)")
    return 0 if same and ratio >= 5 and growth < 0.30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
