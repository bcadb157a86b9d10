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
