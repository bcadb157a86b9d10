"""One bucket's comments (and submissions) -> its chains table, in memory.

    python -c "from rdial.build.bucket import build_chains, ChainOptions; help(build_chains)"

The steps, each whole-column work in polars or numpy:
  1. group: "" (threads join across months) or the month of each comment's input (--per-month)
  2. deduplicate by (group, id): the latest retrieved record wins (dedupe.py)
  3. sort by (group, link_id, created_utc, id): the row index is the node's rank, and it fixes
     the order of the output rows, so a rebuild writes the same bytes
  4. usable: body rules (usable.py), then the preset's comment rules (rdial/rules/comment.py)
  5. parent links as row indices (links.py); with --with-title, one title node per thread
     whose submission is known, as the parent of its top-level comments
  6. chains over the forest (chains.py), turned into the CHAINS table of rdial.schema

Chains come out ordered by their last turn's (group, link_id, created_utc, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import polars as pl
import pyarrow as pa

from rdial import schema
from rdial.build.chains import ChainBuilder, ChainPaths
from rdial.build.dedupe import latest_records
from rdial.build.dialogpt_keys import NO_DEP_KEY, KeyMatch
from rdial.build.links import KINDS, TO_SUBMISSION, count_kinds, link_parents
from rdial.build.usable import body_reasons

CommentRules = Callable[[pl.DataFrame, "pl.DataFrame | None"], pl.Series]
KeyMatcher = Callable[[pl.DataFrame], KeyMatch]  # nodes -> which are dep/keep listed


@dataclass(frozen=True)
class ChainOptions:
    """The resolved semantics of a build (BuildConfig minus how it runs)."""

    targets: str = "leaves"     # "leaves" or "all"
    min_turns: int = 2
    max_turns: int = 0          # 0: no limit; else keep the last N turns
    per_month: bool = False
    with_title: bool = False


def build_chains(comments: pl.DataFrame, submissions: pl.DataFrame | None,
                 options: ChainOptions, rules: CommentRules | None = None,
                 keys: KeyMatcher | None = None,
                 longest: dict | None = None,
                 threads: list | None = None) -> tuple[pa.Table, dict]:
    """(chains as schema.CHAINS, stats) for one bucket's records as read (duplicates included).

    `keys` (DialoGPT's released keys, dialogpt_keys.py): a node whose dep key is not listed is
    unusable (`no_dep_key`, before every other reason); only keep-listed nodes end a chain.
    `longest`, when given, gets {link_id: turns of its longest usable path} for every thread:
    the per-thread parts of "longest_chain", which an incremental build keeps. `threads`, when
    given, gets one frame appended: every counter of the stats per thread (thread_counts)."""
    stats: dict = {"records": comments.height}
    nodes, dropped = ordered_nodes(comments, options.per_month)
    stats["records_without_id"], stats["duplicates"] = dropped
    stats["comments"] = nodes.height
    subs, stats["submission_duplicates"] = dedupe_submissions(submissions)

    reasons = unusable_reasons(nodes, subs, rules)
    listed = keys(nodes) if keys is not None else None
    if listed is not None:
        reasons = reasons.zip_with(listed.dep, pl.repeat(NO_DEP_KEY, nodes.height, eager=True))
        stats["dialogpt_keys"] = listed.stats
    stats["unusable"] = count_reasons(reasons)
    parent, kinds = link_parents(nodes, per_group=options.per_month)
    stats["links"] = count_kinds(kinds)
    top_level = kinds == TO_SUBMISSION

    usable = reasons.is_null().to_numpy()
    titles = title_nodes(nodes, top_level, subs) if options.with_title else None
    if titles is not None and titles.height:
        parent, usable = attach_titles(nodes, top_level, titles, parent, usable)
    target_ok = np.arange(len(parent)) < nodes.height   # title nodes never end a chain
    if listed is not None:  # DialoGPT's keep keys: checked before the leaves-only skip
        target_ok[:nodes.height] &= listed.keep.to_numpy()
    builder = ChainBuilder(targets=options.targets, min_turns=options.min_turns,
                           max_turns=options.max_turns)
    paths = builder.build(parent, usable, target_ok)
    stats.update(paths.stats)
    if longest is not None and nodes.height:
        per_thread = pl.DataFrame({"link_id": nodes["link_id"],
                                   "longest": paths.longest[:nodes.height]}) \
            .group_by("link_id").agg(pl.col("longest").max())
        longest.update(zip(per_thread["link_id"].to_list(), per_thread["longest"].to_list()))
    with_title = paths.nodes[paths.offsets[:-1]] >= nodes.height
    stats["chains_with_title"] = int(with_title.sum()) if len(paths) else 0
    if threads is not None:
        threads.append(thread_counts(comments, nodes, titles, submissions, reasons, kinds, paths,
                                     with_title))
    return chains_table(nodes, titles, subs, paths), stats


THREAD_COUNTS = {"link_id": pl.String, "stat": pl.String, "n": pl.Int64}


def thread_counts(comments: pl.DataFrame, nodes: pl.DataFrame, titles: pl.DataFrame | None,
                  submissions: pl.DataFrame | None, reasons: pl.Series, kinds: np.ndarray,
                  paths: ChainPaths, with_title: np.ndarray) -> pl.DataFrame:
    """The stats' counters per thread: rows (link_id, stat, n), n != 0, sorted, nested stats as
    "unusable.deleted", "links.to_comment". Summed over every thread they are the bucket's
    counters but for rows without a thread (no link_id, a submission without id), which an
    incremental build never subtracts; "longest_chain" (a maximum) is not here. A duplicate
    counts in the thread of the record dropped, which a thread closed over shared ids
    (incremental.py) always holds with the one kept. Counted with numpy over thread codes
    (a group_by over (link_id, stat) strings cost 60% of the build)."""
    rows = comments.select("link_id", "id").filter(pl.col("link_id").is_not_null())
    sub_links = submissions.select(("t3_" + pl.col("id")).alias("link_id"))["link_id"].drop_nulls() \
        if submissions is not None else pl.Series("link_id", [], pl.String)
    links = pl.concat([rows["link_id"], sub_links]).unique().sort()
    k = len(links)

    def code(series: pl.Series) -> np.ndarray:
        return links.search_sorted(series).to_numpy().astype(np.int64)

    node_code = code(nodes["link_id"])
    row_code = code(rows["link_id"])
    counts: dict[str, np.ndarray] = {}

    def add(stat: str, codes: np.ndarray, weights=None, sign: int = 1):
        n = np.bincount(codes, weights, minlength=k)
        n = (np.rint(n) if weights is not None else n).astype(np.int64) * sign
        counts[stat] = counts.get(stat, 0) + n

    for stat, (index, weight) in paths.counted.items():
        add(stat, node_code[index], weight)
    add("chains_with_title", node_code[paths.targets[with_title]] if len(paths) else node_code[:0])
    add("comments", node_code)
    add("records", row_code)
    add("records_without_id", row_code[rows["id"].is_null().to_numpy()])
    add("duplicates", row_code[rows["id"].is_not_null().to_numpy()])
    add("duplicates", node_code, sign=-1)  # the valid records of a thread less its nodes
    if len(sub_links):
        sub_code = code(sub_links)
        add("submission_duplicates", sub_code)
        add("submission_duplicates", np.unique(sub_code), sign=-1)
    for reason in reasons.drop_nulls().unique().to_list():
        add(f"unusable.{reason}", node_code[(reasons == reason).fill_null(False).to_numpy()])
    node_kinds = kinds[:nodes.height]
    for i, name in enumerate(KINDS):
        add(f"links.{name}", node_code[node_kinds == i])
    names = sorted(counts)
    table = np.stack([counts[name] for name in names], axis=1)  # thread x stat
    thread, stat = np.nonzero(table)  # row-major: by thread (link_id order), then stat name
    return pl.DataFrame({"link_id": links.gather(thread),
                         "stat": pl.Series(names, dtype=pl.String).gather(stat),
                         "n": table[thread, stat]}, schema=THREAD_COUNTS)


SORT_KEY = ["group", "link_id", "created_utc", "id"]


def ordered_nodes(comments: pl.DataFrame, per_month: bool) -> tuple[pl.DataFrame, tuple[int, int]]:
    """The deduplicated comments in SORT_KEY order, with a `group` column; (rows without id or
    link_id, duplicates dropped). Decided on a narrow key frame, then the wide rows (bodies)
    are gathered once."""
    keys = comments.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), "id", "link_id",
                           "created_utc", "retrieved_on", "source", "line", group_of(per_month))
    valid = keys.filter(pl.col("id").is_not_null() & pl.col("link_id").is_not_null())
    latest, duplicates = latest_records(valid, ["group", "id"] if per_month else ["id"])
    by = SORT_KEY if per_month else SORT_KEY[1:]  # one group: do not sort by a constant
    order = latest.sort(by, nulls_last=False).select("row", "group")
    nodes = comments[order["row"]].with_columns(order["group"])
    return nodes, (keys.height - valid.height, duplicates)


def group_of(per_month: bool) -> pl.Expr:
    """The key threads are joined within: one group, or the month in the input's name."""
    if not per_month:
        return pl.lit("").alias("group")
    return schema.source_month(pl.col("source")).fill_null(pl.col("source")).fill_null("") \
        .alias("group")


def dedupe_submissions(submissions: pl.DataFrame | None) -> tuple[pl.DataFrame | None, int]:
    if submissions is None:
        return None, 0
    subs, _ = latest_records(submissions.filter(pl.col("id").is_not_null()), ["id"])
    subs = subs.with_columns(("t3_" + pl.col("id")).alias("link_id")).sort("link_id")
    return subs, submissions.height - subs.height


def unusable_reasons(nodes: pl.DataFrame, subs: pl.DataFrame | None,
                     rules: CommentRules | None) -> pl.Series:
    """One reason or null per node: the body rules first, then the preset's comment rules."""
    reasons = body_reasons(nodes)
    if rules is None:
        return reasons
    candidates = reasons.is_null()
    if not candidates.any():
        return reasons
    comments = nodes.filter(candidates).select(schema.COMMENTS.names)
    subs_view = subs.select(schema.SUBMISSIONS.names) if subs is not None else None
    ruled = rules(comments, subs_view)
    idx = pl.Series(np.flatnonzero(candidates.to_numpy()))
    return reasons.scatter(idx, ruled)


def count_reasons(reasons: pl.Series) -> dict[str, int]:
    counts = reasons.drop_nulls().value_counts(sort=True)
    return {str(k): int(v) for k, v in sorted(counts.iter_rows())}


def title_nodes(nodes: pl.DataFrame, top_level: np.ndarray,
                subs: pl.DataFrame | None) -> pl.DataFrame | None:
    """One row per (group, link_id) with a top-level comment and a known submission whose
    title is usable; columns group, link_id, id, author, title, score, created_utc."""
    if subs is None:
        return None
    top = nodes.filter(pl.Series(top_level)).select("group", "link_id") \
        .unique(maintain_order=True)
    known = subs.filter(pl.col("title").str.strip_chars().is_in(["", "[deleted]", "[removed]"]).not_()
                        & pl.col("title").is_not_null())
    return top.join(known.select("link_id", "id", "author", "title", "score", "created_utc"),
                    on="link_id", how="inner", maintain_order="left")


def attach_titles(nodes: pl.DataFrame, top_level: np.ndarray, titles: pl.DataFrame,
                  parent: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Title node j gets index len(nodes) + j and becomes the parent of its top-level comments."""
    n = nodes.height
    keyed = titles.select("group", "link_id").with_row_index("title_node", offset=n)
    top = nodes.select("group", "link_id").with_row_index("node").filter(pl.Series(top_level))
    linked = top.join(keyed, on=["group", "link_id"], how="inner")
    parent = np.concatenate([parent, np.full(titles.height, -1, dtype=np.int64)])
    parent[linked["node"].to_numpy()] = linked["title_node"].cast(pl.Int64).to_numpy()
    usable = np.concatenate([usable, np.ones(titles.height, dtype=bool)])
    return parent, usable


def chains_table(nodes: pl.DataFrame, titles: pl.DataFrame | None, subs: pl.DataFrame | None,
                 paths: ChainPaths) -> pa.Table:
    """Gather each turn's columns by the flat node indices and wrap them in list columns."""
    turns = nodes.select("id", "author", pl.col("body").alias("text"), "score",
                         pl.col("created_utc").alias("created"))
    if titles is not None and titles.height:
        turns = pl.concat([turns, titles.select(
            ("t3_" + pl.col("id")).alias("id"), "author", pl.col("title").alias("text"),
            "score", pl.col("created_utc").alias("created"))])
    flat = turns[pl.Series(paths.nodes)].to_arrow() if len(paths.nodes) else \
        pa.table({c: pa.array([], type=t) for c, t in
                  zip(turns.columns, [pa.string()] * 3 + [pa.int64()] * 2)})
    offsets = pa.array(paths.offsets.astype(np.int32))
    ends = nodes[pl.Series(paths.targets)].select("link_id", "subreddit")
    over_18 = chain_over_18(ends["link_id"], subs)
    columns = {
        "link_id": ends["link_id"].to_arrow(),
        "subreddit": ends["subreddit"].to_arrow(),
        "turn_ids": list_of(offsets, flat["id"]),
        "turn_authors": list_of(offsets, flat["author"]),
        "turn_texts": list_of(offsets, flat["text"]),
        "turn_scores": list_of(offsets, flat["score"]),
        "turn_created": list_of(offsets, flat["created"]),
        "over_18": over_18,
    }
    return pa.table(columns).cast(schema.CHAINS)


def list_of(offsets: pa.Array, values: pa.ChunkedArray | pa.Array) -> pa.ListArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return pa.ListArray.from_arrays(offsets, values)


def chain_over_18(link_ids: pl.Series, subs: pl.DataFrame | None) -> pa.Array:
    if subs is None:
        return pa.nulls(len(link_ids), type=pa.bool_())
    flags = pl.DataFrame({"link_id": link_ids}).join(
        subs.select("link_id", "over_18"), on="link_id", how="left", maintain_order="left")
    return flags["over_18"].to_arrow()
