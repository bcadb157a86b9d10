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
"""

from __future__ import annotations

import numpy as np
import polars as pl

KINDS = ("to_submission", "to_comment", "parent_missing", "parent_other_thread", "self_reply",
         "parent_id_invalid")


def link_kinds(nodes: pl.DataFrame) -> pl.DataFrame:
    """Columns `kind` and `parent_node` (row index of the parent, null unless to_comment)."""
    prefix = pl.col("parent_id").str.slice(0, 3)
    frame = nodes.select(
        "group", "id", "link_id", "parent_id",
        pl.when(prefix == "t1_").then(pl.col("parent_id").str.slice(3)).alias("parent_bare"),
        prefix.alias("prefix"),
    )
    parents = nodes.select(
        "group", pl.col("id").alias("parent_bare"), pl.col("link_id").alias("parent_link"),
    ).with_row_index("parent_node")
    joined = frame.join(parents, on=["group", "parent_bare"], how="left", validate="m:1",
                        maintain_order="left")
    kind = (pl.when(pl.col("prefix") == "t3_")
            .then(pl.when(pl.col("parent_id") == pl.col("link_id"))
                  .then(pl.lit("to_submission")).otherwise(pl.lit("parent_other_thread")))
            .when(pl.col("parent_bare").is_null()).then(pl.lit("parent_id_invalid"))
            .when(pl.col("parent_bare") == pl.col("id")).then(pl.lit("self_reply"))
            .when(pl.col("parent_node").is_null()).then(pl.lit("parent_missing"))
            .when(pl.col("parent_link") != pl.col("link_id")).then(pl.lit("parent_other_thread"))
            .otherwise(pl.lit("to_comment")))
    return joined.select(
        kind.alias("kind"),
        pl.when(kind == "to_comment").then(pl.col("parent_node")).alias("parent_node"),
    )


def link_parents(nodes: pl.DataFrame) -> tuple[np.ndarray, pl.Series]:
    """(parent row index per comment, -1 when not linked to a comment; link kind per comment)."""
    links = link_kinds(nodes)
    parent = links["parent_node"].fill_null(-1).cast(pl.Int64).to_numpy()
    return parent, links["kind"]


def count_kinds(kinds: pl.Series) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for kind, n in kinds.value_counts().iter_rows():
        counts[kind] = int(n)
    return counts
