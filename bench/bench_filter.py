"""Benchmark `rdial filter --preset paper` against the same rules applied the DialoGPT way.

    python bench/bench_filter.py                      # 1,000,000 chains, 16 buckets
    python bench/bench_filter.py --chains 100000      # a quick look

Both sides run in this invocation, each in a fresh process, on the same synthetic corpus
(tests.filter.synthetic: Reddit-like texts in which every rule fires):
  rdial     run_filter(paper): read chains Parquet, cut, normalise, judge, split, spill trigrams,
            exact corpus-wide counts, blandness, write the shards (workers=1 by default)
  baseline  per chain, in Python: DialoGPT's get_convo cut, gpt_norm_sentence (Python regexes),
            then each rule as reddit.py's filter_instance does it (rdial.rules.ReferenceRules), and
            blandness with one in-memory Counter of every target trigram (reading the Parquet
            into Python dicts and writing nothing are not timed: the baseline is favoured)
Both must agree on every count per reason, or the benchmark fails. Printed: chains/s of both,
the ratio, and peak RSS (VmHWM) of the blandness pass of each. The machine is shared: other
work changes the figures by tens of percent; repeat before trusting a digit.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.filter.synthetic: a fixture


def make_corpus(root: Path, chains: int, buckets: int, seed: int) -> None:
    import polars as pl

    from rdial.corpus import Corpus
    from tests.filter.synthetic import random_chains, record_preset
    from rdial.schema import thread_buckets

    corpus = Corpus.open_or_create(root, buckets)
    corpus.chains_dir.mkdir(parents=True, exist_ok=True)
    step = 250_000
    frames = []
    for start in range(0, chains, step):  # distinct thread ids per block
        t = pl.from_arrow(random_chains(min(step, chains - start), seed=seed + start))
        frames.append(t.with_columns(pl.lit(f"b{start}_") + pl.col("link_id").str.slice(3)))
    df = pl.concat(frames).with_columns(pl.lit("t3_") + pl.col("link_id"))
    df = df.with_columns(pl.Series("_b", thread_buckets(df["link_id"].to_arrow(), buckets)))
    for (b,), g in df.partition_by("_b", as_dict=True).items():
        g.drop("_b").write_parquet(corpus.chains_file(int(b)))
    record_preset(corpus, "paper")


def run_rdial(root: str, workers: int, queue) -> None:
    from rdial.filter.stage import FilterConfig, run_filter

    start = time.perf_counter()
    report = run_filter(FilterConfig(corpus=Path(root), preset="paper", workers=workers, progress=False))
    queue.put({"seconds": time.perf_counter() - start, "dropped": report.stats["dropped"],
               "chains_in": report.stats["chains_in"], "chains_out": report.stats["chains_out"],
               "peak": report.stats["peak_rss_mb"]})


def run_baseline(root: str, queue) -> None:
    import polars as pl

    from rdial.filter.memory import peak_mb, reset_peak
    from rdial.rules import load_settings
    from rdial.rules import ReferenceRules

    s = load_settings("paper")
    ref = ReferenceRules(s)
    files = sorted((Path(root) / "chains").glob("bucket=*.parquet"))
    reasons: Counter = Counter()
    targets = []
    seconds = 0.0
    n = 0
    for f in files:
        rows = pl.read_parquet(f).to_dicts()  # not timed
        start = time.perf_counter()
        for row in rows:
            reason, _, norm, _ = ref.judge(row)
            if reason is None:
                targets.append(norm[-1])
            else:
                reasons[reason] += 1
        seconds += time.perf_counter() - start
        n += len(rows)
    reset_peak()
    start = time.perf_counter()
    counts: Counter = Counter()
    tris = []
    for t in targets:
        toks = [w for w in t.lower().split(" ") if w]
        ts = [" ".join(toks[i:i + 3]) for i in range(len(toks) - 2)]
        tris.append(ts)
        counts.update(ts)
    for ts in tris:
        if ts and sum(counts[x] > s.bland_min_count for x in ts) / len(ts) >= s.bland_fraction:
            reasons["bland"] += 1
    seconds += time.perf_counter() - start
    queue.put({"seconds": seconds, "dropped": dict(reasons), "chains_in": n,
               "chains_out": n - sum(reasons.values()), "peak": {"bland": peak_mb()}})


def in_process(target, *args):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, queue))
    p.start()
    result = queue.get()
    p.join()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chains", type=int, default=1_000_000)
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1, help="rdial's bucket workers (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-filter-"))
    try:
        t = time.perf_counter()
        make_corpus(tmp / "corpus", args.chains, args.buckets, args.seed)
        print(f"corpus: {args.chains:,} chains in {args.buckets} buckets "
              f"({time.perf_counter() - t:.1f} s to generate)")
        ours = in_process(run_rdial, str(tmp / "corpus"), args.workers)
        base = in_process(run_baseline, str(tmp / "corpus"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = ours["chains_in"]
    print(f"rdial filter --preset paper: {ours['seconds']:.1f} s, {n / ours['seconds']:,.0f} chains/s "
          f"(workers={args.workers}), kept {ours['chains_out']:,}")
    print(f"baseline (per instance, Python): {base['seconds']:.1f} s, "
          f"{n / base['seconds']:,.0f} chains/s, kept {base['chains_out']:,}")
    print(f"ratio: {base['seconds'] / ours['seconds']:.2f}x")
    print(f"peak RSS, blandness pass: rdial {ours['peak'].get('corpus_counts')} MB (counts, per "
          f"partition), {ours['peak'].get('corpus_rules')} MB (marking, one bucket a task), "
          f"{ours['peak'].get('write_shards')} MB (writing, one shard file a task); "
          f"baseline {base['peak']['bland']} MB (one Counter)  [VmHWM of the process, incl. "
          f"the interpreter and libraries]")
    print(f"peak RSS, judging one bucket: rdial {ours['peak'].get('judge')} MB")
    print("dropped per reason:", dict(sorted(ours["dropped"].items())))
    if ours["dropped"] != base["dropped"]:
        print("MISMATCH baseline:", dict(sorted(base["dropped"].items())), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
