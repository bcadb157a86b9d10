"""train/valid/test by thread: a stable hash of `link_id`, so a thread never straddles splits.

    python -c "import polars as pl; from rdial.filter.splits import split_column; \
print(split_column(pl.Series(['t3_a', 't3_b', 't3_a']), (0.8, 0.1, 0.1)))"

`rdial.schema.split_of` decides each thread (crc32 of the bare id with a salt); it is called once
per distinct thread of a bucket, not per chain. The same link_id and fractions always give the
same split, on any machine, in any run, whichever month or bucket the chain came from.
"""

from __future__ import annotations

import polars as pl

from rdial.schema import split_of


def split_column(link_ids: pl.Series, fractions: tuple[float, float, float]) -> pl.Series:
    threads = link_ids.unique()
    mapping = {t: split_of(t, fractions) for t in threads.to_list() if t is not None}
    return link_ids.replace_strict(mapping, default="train", return_dtype=pl.String).alias("split")


# --- every split gets a thread --------------------------------------------------------------
# A small corpus can hash no thread into a 1% split (the real months 2005-12 + 2006-01: 175
# chains, valid empty), and a trainer or `datasets.load_dataset` then has no validation data.
# After the per-bucket pass, each split with a share > 0 and no thread of kept chains borrows
# one thread from the split holding the most, the one with the lowest `donor_rank` (a salted
# hash: deterministic, independent of buckets and workers). The donor always keeps a thread,
# so this needs at least as many threads as splits with a share; otherwise the split stays
# empty and filter's table says why. As the corpus grows and a thread hashes into the split by
# itself, the borrowed thread returns to its own split.
CANDIDATES = 3  # per split and bucket: enough to fill two empty splits


def donor_rank(link_ids: pl.Series) -> pl.Series:
    from rdial.schema import bare_id, stable_hash

    return pl.Series("rank", [stable_hash(bare_id(t), salt=b"donor:") for t in link_ids.to_list()],
                     dtype=pl.UInt64)


def thread_summary(link_ids: pl.Series, splits: pl.Series) -> dict:
    """One bucket's distinct threads per split and its CANDIDATES lowest-ranked threads each."""
    df = pl.DataFrame({"link_id": link_ids, "split": splits}).unique("link_id").drop_nulls()
    df = df.with_columns(donor_rank(df["link_id"]))
    out = {"threads": {}, "candidates": []}
    for (split,), g in df.partition_by("split", as_dict=True).items():
        out["threads"][split] = g.height
        out["candidates"] += [(r, t, split) for t, r in
                              g.sort("rank", "link_id").head(CANDIDATES).select("link_id", "rank").iter_rows()]
    return out


def plan_moves(summaries: list[dict], fractions: tuple[float, float, float]) -> tuple[dict, dict]:
    """-> ({link_id: new split}, {split: note}) so that every split with a share has a thread."""
    from rdial.schema import SPLITS

    threads = {s: sum(x["threads"].get(s, 0) for x in summaries) for s in SPLITS}
    candidates = sorted(c for x in summaries for c in x["candidates"])
    moves, notes = {}, {}
    for split, share in zip(SPLITS, fractions):
        if share <= 0 or threads[split] > 0:
            continue
        donor = max(SPLITS, key=lambda s: (threads[s], -SPLITS.index(s)))
        pick = next((c for c in candidates if c[2] == donor and c[1] not in moves), None)
        if threads[donor] < 2 or pick is None:
            notes[split] = (f"empty: no thread hashed into it, and the corpus has "
                            f"{sum(threads.values())} thread(s) of kept chains, too few to lend "
                            f"one (each split needs one; the largest keeps one)")
            continue
        moves[pick[1]] = split
        threads[donor] -= 1
        threads[split] += 1
        notes[split] = (f"no thread hashed into it: thread {pick[1]} lent by {donor}")
    return moves, notes


def apply_moves(splits: pl.Expr, link_ids: pl.Expr, moves: dict) -> pl.Expr:
    if not moves:
        return splits
    return (pl.when(link_ids.is_in(list(moves)))
            .then(link_ids.replace_strict(moves, default=None, return_dtype=pl.String))
            .otherwise(splits))
