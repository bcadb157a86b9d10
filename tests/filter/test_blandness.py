from collections import Counter

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from rdial.filter.blandness import bland_mask, common_trigrams, trigram_counts
from rdial.filter.spill import PartitionSpill


def brute_force(targets, min_count, fraction):
    def tris(t):
        toks = [w for w in t.lower().split(" ") if w]
        return [" ".join(toks[i:i + 3]) for i in range(len(toks) - 2)]
    counts = Counter(tri for t in targets for tri in tris(t))
    flags = []
    for t in targets:
        ts = tris(t)
        flags.append(bool(ts) and sum(counts[x] > min_count for x in ts) / len(ts) >= fraction)
    return flags


def random_targets(n, seed):
    rng = np.random.default_rng(seed)
    words = np.array("i do not know the".split())
    return [" ".join(words[rng.choice(len(words), rng.integers(1, 9), p=[0.3, 0.3, 0.2, 0.1, 0.1])]) for _ in range(n)]


def test_small_example_exact():
    t = pl.Series(["I do not know", "i do not know", "i do not care", "lol", "", "i do not know at all"])
    counts = dict(trigram_counts(t).iter_rows())
    assert counts == {"i do not": 4, "do not know": 3, "do not care": 1, "not know at": 1, "know at all": 1}
    common = pl.Series(["i do not", "do not know"])
    assert bland_mask(t, common, 0.9).to_list() == [True, True, False, False, False, False]
    assert bland_mask(t, common, 0.5).to_list() == [True, True, True, False, False, True]


def test_partitioned_counts_equal_brute_force(tmp_path):
    # three "buckets" spilled into 5 partitions, then reduced partition by partition
    buckets = [random_targets(700, seed) for seed in (1, 2, 3)]
    spill = PartitionSpill(tmp_path, parts=5)
    for i, targets in enumerate(buckets):
        spill.write(trigram_counts(pl.Series(targets)), key="trigram", writer=f"b{i}")
    files = sorted(tmp_path.glob("*.parquet"))
    assert [f.name for f in files] == ["b0.parquet", "b1.parquet", "b2.parquet"]
    assert [pq.ParquetFile(f).metadata.num_row_groups for f in files] == [5, 5, 5]  # a partition each
    common = pl.concat([common_trigrams(spill, p, min_count=40) for p in range(5)])
    everything = [t for b in buckets for t in b]
    expected = brute_force(everything, 40, 0.9)
    got = [f for b in buckets for f in bland_mask(pl.Series(b), common["trigram"], 0.9).to_list()]
    assert got == expected
    assert 0 < sum(got) < len(got)
