"""Reply links of one bucket: each comment's parent as a row index, and what kind of link it is.

    python -c "import polars as pl; from rdial.build.links import link_parents; \
print(link_parents(pl.DataFrame({'group': [''] * 2, 'id': ['a', 'b'], 'link_id': ['t3_x'] * 2, \
'parent_id': ['t3_x', 't1_a']})))"

Input: deduplicated comments sorted by (group, link_id, created_utc, id), where `group` is ""
(threads join across every month) or the month of the comment's input (`--per-month`, where a
parent from another month counts as missing). Every comment gets exactly one link kind:

  to_submission        parent_id is the thread's own "t3_" id (a top-level comment)
  to_comment           parent_id "t1_x" and x is a comment of the same thread and group
  parent_missing       "t1_x" and x is not in the bucket (never fetched, or another month)
  parent_other_thread  the parent belongs to another thread (malformed data)
  self_reply           "t1_x" where x is the comment itself (malformed data)
  parent_id_invalid    parent_id null or neither "t1_" nor "t3_"

Only `to_comment` links are kept; every other comment starts its chains (a chain's first turn
replies to the submission or to a comment that is missing or unusable).

The parent lookup is one hash probe per comment (pyarrow `index_in` of the parent ids in the
ids); threads are compared as integer codes (rows are sorted by thread), not as strings.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow.compute as pc

KINDS = ("to_submission", "to_comment", "parent_missing", "parent_other_thread", "self_reply",
         "parent_id_invalid")
(TO_SUBMISSION, TO_COMMENT, PARENT_MISSING, PARENT_OTHER_THREAD, SELF_REPLY,
 PARENT_ID_INVALID) = range(len(KINDS))


def _columns(per_group: bool) -> list[pl.Expr]:
    prefix = pl.col("parent_id").str.slice(0, 3)
    bare = pl.col("parent_id").str.slice(3)
    key, parent_key = pl.col("id"), bare
    if per_group:  # ids are unique within a group only
        key = pl.concat_str(["group", "id"], separator="\x1f")
        parent_key = pl.concat_str([pl.col("group"), bare], separator="\x1f")
    new_thread = ((pl.col("link_id") != pl.col("link_id").shift(1))
                  | (pl.col("group") != pl.col("group").shift(1))).fill_null(True)
    return [
        key.alias("key"),
        pl.when(prefix == "t1_").then(parent_key).alias("parent_key"),
        (prefix == "t1_").fill_null(False).alias("t1"),
        (prefix == "t3_").fill_null(False).alias("t3"),
        (pl.col("parent_id") == pl.col("link_id")).fill_null(False).alias("own_submission"),
        (bare == pl.col("id")).fill_null(False).alias("self"),
        new_thread.cast(pl.Int64).cum_sum().alias("thread"),
    ]


def link_parents(nodes: pl.DataFrame, per_group: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(parent row index per comment, -1 unless to_comment; link kind code per comment)."""
    cols = nodes.select(_columns(per_group or nodes["group"].n_unique() > 1))
    found = pc.index_in(cols["parent_key"].to_arrow(), value_set=cols["key"].to_arrow())
    found = pc.fill_null(found, -1).to_numpy().astype(np.int64)
    t1, t3 = cols["t1"].to_numpy(), cols["t3"].to_numpy()
    thread = cols["thread"].to_numpy()
    kind = np.full(nodes.height, PARENT_ID_INVALID, dtype=np.int8)
    kind[t1] = PARENT_MISSING
    hit = t1 & (found >= 0)
    kind[hit] = TO_COMMENT
    kind[hit & (thread[np.maximum(found, 0)] != thread)] = PARENT_OTHER_THREAD
    kind[t1 & cols["self"].to_numpy()] = SELF_REPLY
    own = cols["own_submission"].to_numpy()
    kind[t3 & own] = TO_SUBMISSION
    kind[t3 & ~own] = PARENT_OTHER_THREAD
    parent = np.where(kind == TO_COMMENT, found, -1)
    return parent, kind


def count_kinds(kind: np.ndarray) -> dict[str, int]:
    counts = np.bincount(kind.astype(np.int64), minlength=len(KINDS))
    return {name: int(counts[i]) for i, name in enumerate(KINDS)}
