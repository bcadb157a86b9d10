"""Rebuild only the threads a new month reaches: a bucket's new chains from its old ones.

    rdial extract RC_2012-03.zst --out corpus && rdial build corpus   # the bucket's changed threads only

Buckets are a hash of the thread id, so a new month adds a file to nearly every bucket (measured
in docs/build.md: every one of 32 buckets for a 200k-comment synthetic month). What a new month
cannot change is the chains of threads it does not reach, and Reddit archives a thread six months
after it was created, so a month reaches only the threads of the last six. A bucket whose only
change is added input files (every earlier file still there with the same fingerprint, the same
build settings) is rebuilt from its old chains file:

  1. T, the touched threads: the link_ids of the added files (comments' link_id, submissions'
     t3_ id), closed over what joins threads in a bucket: a shared comment id (dedupe) and a
     parent_id naming a comment of another thread (links.py's parent_other_thread);
  2. the rows of T from every input file whose ranges can hold them: the ledger keeps per input
     file the numeric range of its thread ids and of its comment and parent ids (base 36, so
     ranges follow time); a file of a month older than every thread of T is not read at all;
  3. T built twice, from the old files and from all files: the bucket's stats become
     old - T(old) + T(new); "longest_chain", a maximum, from the per-thread longest paths the
     ledger keeps (the 256 longest threads: when all of them are in T, a full rebuild);
  4. the old chains of threads outside T, and T's new chains, in link_id order (the order a full
     build writes: chains sort by their last turn's link_id, created_utc, id, and never straddle
     threads), written with the same options: the same bytes as a full build.

With --per-month (threads join within a month; chains sort by month first) a later month is its
own group, appended: append_month. Not incremental (a full rebuild, as before): DialoGPT's keys,
changed or removed inputs, changed settings, --force, a first build. Inputs that
`rdial prune` removed stay in the ledger with their ranges: a touched thread inside a pruned
file's thread range (a late comment beyond the archive window) fails the bucket, naming the file
to re-extract, instead of building chains without the pruned comments.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rdial import schema
from rdial.build.bucket import build_chains, group_of
from rdial.build.inputs import read_frame
from rdial.errors import InputError

TOP_LONGEST = 256  # threads whose longest path the ledger keeps per bucket
MAX_KEYS = {"longest_chain"}  # stats that are a maximum, not a sum


@dataclass(frozen=True)
class Increment:
    """A bucket rebuild that reuses its chains: which inputs are new, what the ledger knew."""

    added: tuple[str, ...]        # relative paths of input files not in the last build
    inputs: dict                  # the ledger's "inputs" of the last build (ranges, pruned)
    stats: dict                   # the ledger's stats of the last build
    longest: tuple                # ((turns, link_id), ...) the longest threads, longest first
    floor: int                    # no thread outside `longest` is longer
    had_submissions: bool         # the last build read submission files
    mode: str = "threads"         # "threads", or "months" (--per-month: a later month appended)
    threads: str | None = None    # the ledger's per-thread counts file (thread_counts), relative


# --- ranges: what the ledger keeps per input file --------------------------------------------
def _num(expr: pl.Expr, prefix: str) -> pl.Expr:
    return expr.str.strip_prefix(prefix).str.to_integer(base=36, strict=False)


def is_submissions(rel: str) -> bool:
    return rel.startswith("submissions/")


def key_columns(path: Path, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """The narrow columns that decide which threads a file's rows belong to or join: link_id,
    and as base-36 numbers link, id and parent (a t1_ parent); a submission's link is its id.
    `odd`: a value that is not base 36 (its file's ranges then cover everything). `frame`: the
    file's rows, when already read."""
    if is_submissions(path.parent.parent.name + "/"):
        if frame is None:
            frame = pl.read_parquet(path, columns=["id"], hive_partitioning=False, glob=False)
        raw_link, raw_id, raw_parent = "t3_" + pl.col("id"), pl.lit(None, pl.String), pl.lit(None, pl.String)
    else:
        if frame is None:
            frame = pl.read_parquet(path, columns=["id", "link_id", "parent_id", "source"],
                                    hive_partitioning=False, glob=False)
        raw_link, raw_id = pl.col("link_id"), pl.col("id")
        raw_parent = pl.when(pl.col("parent_id").str.starts_with("t1_")).then(pl.col("parent_id"))
    columns = {"link_id": raw_link, "link": _num(raw_link, "t3_"), "id": _num(raw_id, "t1_"),
               "parent": _num(raw_parent, "t1_")}
    odd = pl.any_horizontal([raw.is_not_null() & _num(raw, prefix).is_null() for raw, prefix in
                             ((raw_link, "t3_"), (raw_id, "t1_"), (raw_parent, "t1_"))])
    group = group_of(True) if "source" in frame.columns else pl.lit(None, pl.String).alias("group")
    return frame.select(*[e.alias(n) for n, e in columns.items()], odd.alias("odd"), group)


EVERYTHING = [-(1 << 63), (1 << 63) - 1]


def _span(series: pl.Series):
    series = series.drop_nulls()
    return [int(series.min()), int(series.max())] if len(series) else None


def file_ranges(keys: pl.DataFrame) -> dict:
    """{"links": [lo, hi] or None, "keys": [lo, hi] or None}: its thread ids; its comment ids
    and the comment ids its rows reply to. Ids grow with time, so a range is a span of time."""
    groups = keys["group"].drop_nulls()
    spans = {"groups": [groups.min(), groups.max()] if len(groups) else None}
    if keys["odd"].any():
        return {"links": EVERYTHING, "keys": EVERYTHING, **spans}
    return {"links": _span(keys["link"]), "keys": _span(pl.concat([keys["id"], keys["parent"]])),
            **spans}


def input_record(root: Path, rel: str, fingerprint: str, frame: pl.DataFrame | None = None) -> dict:
    """What the ledger keeps of one input file: its fingerprint and file_ranges."""
    return {"fingerprint": fingerprint, **file_ranges(key_columns(root / rel, frame))}


def _overlaps(a, b) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def longest_record(per_thread: dict[str, int], floor: int = 0) -> dict:
    """{"longest": [[turns, link_id], ...] (the TOP_LONGEST longest threads, longest first),
    "floor": no thread left out is longer}: what "longest_chain" of a later increment needs."""
    ranked = heapq.nsmallest(TOP_LONGEST + 1, ((-turns, link) for link, turns in per_thread.items()))
    left_out = [-neg for neg, _ in ranked[TOP_LONGEST:]]
    return {"longest": [[-neg, link] for neg, link in ranked[:TOP_LONGEST]],
            "floor": max([floor] + left_out)}


# --- planning ----------------------------------------------------------------------------------
def plan_increment(entry: dict | None, now: dict[str, str], settings_hash: str,
                   mode: str | None) -> Increment | None:
    """An Increment when the bucket's only change since `entry` is added files, else None.
    `mode`: "threads", "months" (--per-month), None (no increment: a full build)."""
    if mode is None or entry is None or entry.get("settings") != settings_hash:
        return None
    inputs = entry.get("inputs")
    if not inputs or "longest" not in entry:
        return None
    for rel, meta in inputs.items():
        if meta.get("pruned"):
            if rel in now:  # extracted again after a prune: a full rebuild reads it
                return None
        elif now.get(rel) != meta["fingerprint"]:
            return None
    added = tuple(sorted(rel for rel in now if rel not in inputs))
    if not added:
        return None
    return Increment(added=added, inputs=inputs, stats=entry.get("stats", {}),
                     longest=tuple(tuple(x) for x in entry["longest"]),
                     floor=int(entry.get("floor", 0)),
                     had_submissions=any(is_submissions(r) for r in inputs), mode=mode,
                     threads=entry.get("threads"))


def input_names(rels) -> list[str]:
    """The dumps extracted files came from: comments/bucket=00003/RC_2012-01.zst.parquet ->
    RC_2012-01.zst."""
    return sorted({Path(rel).name.removesuffix(".parquet") for rel in rels})


def pruned_inputs(entry: dict | None) -> list[str]:
    return sorted(rel for rel, meta in (entry or {}).get("inputs", {}).items() if meta.get("pruned"))


# --- the rebuild -------------------------------------------------------------------------------
class FullRebuild(Exception):
    """Build the bucket in full: the increment cannot be exact ("longest": every kept longest
    thread touched, "months": --per-month's new month is not after the old ones) or costs more
    ("added_share", "touched_share"). args: (why, {"added": share, "touched": share})."""

    def __init__(self, why: str, shares: dict | None = None):
        super().__init__(why, shares or {})
        self.why, self.shares = why, shares or {}


def join_columns(path: Path, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """What joins threads, as the build compares it (strings, links.py and dedupe.py): link_id,
    rid (the comment id), rparent (the id a t1_ parent names); a submission: its link only."""
    if is_submissions(path.parent.parent.name + "/"):
        if frame is None:
            frame = pl.read_parquet(path, columns=["id"], hive_partitioning=False, glob=False)
        return frame.select(("t3_" + pl.col("id")).alias("link_id"), pl.lit(None, pl.String).alias("rid"),
                            pl.lit(None, pl.String).alias("rparent"))
    if frame is None:
        frame = pl.read_parquet(path, columns=["id", "link_id", "parent_id"],
                                hive_partitioning=False, glob=False)
    return frame.select("link_id", pl.col("id").alias("rid"),
                        pl.when(pl.col("parent_id").str.slice(0, 3) == "t1_")
                        .then(pl.col("parent_id").str.slice(3)).alias("rparent"))


def _spans(rows: pl.DataFrame) -> dict:
    """file_ranges of join_columns rows (base-36 numbers of the few rows of T only)."""
    keys = rows.select(pl.col("link_id"), pl.col("rid").alias("id"),
                       ("t1_" + pl.col("rparent")).alias("parent_id"))
    raw = {"link": (pl.col("link_id"), "t3_"), "id": (pl.col("id"), "t1_"),
           "parent": (pl.col("parent_id"), "t1_")}
    odd = pl.any_horizontal([e.is_not_null() & _num(e, prefix).is_null() for e, prefix in raw.values()])
    keys = keys.select(*[_num(e, prefix).alias(n) for n, (e, prefix) in raw.items()],
                       odd.alias("odd"), pl.lit(None, pl.String).alias("group"))
    return file_ranges(keys)


@dataclass
class Touched:
    threads: set[str]      # T
    earlier: set[str]      # the earlier input files that may hold rows of T
    ranges: dict           # {added file: file_ranges}
    rows: int              # comment rows of T, in every file (duplicates included)


def touched_threads(root: Path, inc: Increment) -> Touched:
    """T closed as the module docstring says, and what it costs; a pruned file that may hold
    rows of T is an InputError. The added files are read once (their ranges for the ledger and
    their join columns); earlier files only for the three join columns."""
    keys, ranges = {}, {}
    for rel in inc.added:
        frame = pl.read_parquet(root / rel, columns=["id"] if is_submissions(rel) else
                                ["id", "link_id", "parent_id", "source"],
                                hive_partitioning=False, glob=False)
        ranges[rel] = file_ranges(key_columns(root / rel, frame))
        keys[rel] = join_columns(root / rel, frame)
    touched = pl.concat(list(keys.values()))["link_id"].drop_nulls().unique()
    while True:
        frames = pl.concat(list(keys.values()))
        inside = frames.filter(pl.col("link_id").is_in(touched.implode()))
        spans = _spans(inside)
        more = [rel for rel, meta in sorted(inc.inputs.items()) if rel not in keys and (
            _overlaps(meta.get("links"), spans["links"]) or _overlaps(meta.get("keys"), spans["keys"]))]
        for rel in more:
            if inc.inputs[rel].get("pruned"):
                raise InputError(
                    f"{', '.join(input_names(inc.added))} reaches threads of "
                    f"{input_names([rel])[0]}, which `rdial prune` removed (a comment later than "
                    f"the archive window, or a month added out of order); extract it again "
                    f"(rdial extract {input_names([rel])[0]} --out CORPUS --force), then build")
            keys[rel] = join_columns(root / rel)
        if more:
            frames = pl.concat(list(keys.values()))
            inside = frames.filter(pl.col("link_id").is_in(touched.implode()))
        ids = inside["rid"].drop_nulls()
        refs = pl.concat([ids, inside["rparent"].drop_nulls()]).unique()
        linked = frames.filter(pl.col("rid").is_in(refs.implode())
                               | pl.col("rparent").is_in(ids.unique().implode()))["link_id"]
        grown = linked.drop_nulls().unique().filter(~linked.drop_nulls().unique().is_in(touched.implode()))
        if not len(grown) and not more:
            rows = sum(f["link_id"].is_in(touched.implode()).sum() for rel, f in keys.items()
                       if not is_submissions(rel))
            return Touched(set(touched.to_list()), {rel for rel in keys if rel not in inc.added},
                           ranges, int(rows))
        touched = pl.concat([touched, grown])


def thread_rows(root: Path, rel: str, touched: pl.Series, added: bool, contract: pa.Schema,
                link: pl.Expr) -> pl.DataFrame:
    """The rows of threads `touched` in one file, in file order; an added file's rows without a
    thread too (they count in its stats). The predicate is applied while reading (polars
    decodes the other columns only for matching rows)."""
    keep = link.is_in(touched.implode())
    frame = read_frame(root / rel, contract, where=keep | link.is_null() if added else keep)
    return frame


def _concat(frames: list[pl.DataFrame], contract: pa.Schema) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=pl.DataFrame(contract.empty_table()).schema)
    return pl.concat(frames, rechunk=False)


def minus(into: dict, stats: dict, sign: int = -1) -> dict:
    """Add `sign` * stats into `into` (nested), MAX_KEYS left alone."""
    for key, value in stats.items():
        if key in MAX_KEYS:
            continue
        if isinstance(value, dict):
            minus(into.setdefault(key, {}), value, sign)
        else:
            into[key] = into.get(key, 0) + sign * value
    return into


def drop_vanished(stats: dict, *shown: dict) -> None:
    """A nested count that fell to 0 goes unless a build shows it at 0 (count_reasons lists only
    reasons that occur; links lists every kind), so the dict matches a full build's."""
    for key, value in list(stats.items()):
        if isinstance(value, dict):
            drop_vanished(value, *[s.get(key, {}) for s in shown])
            for sub, n in list(value.items()):
                if n == 0 and not any(s.get(key, {}).get(sub) == 0 for s in shown):
                    del value[sub]


@dataclass
class Rebuilt:
    """A bucket's chains and what its ledger entry keeps, from an increment."""

    table: pa.Table
    stats: dict
    longest: dict          # longest_record
    touched: set[str]      # the threads rebuilt
    ranges: dict           # {added file: file_ranges}
    threads: pl.DataFrame | None  # the per-thread counts now (None: none kept)
    shares: dict           # {"added": x, "touched": y}: comment rows' shares, for the ledger


def touched_limit(full_share: float) -> float:
    """T's share of the comment rows above which the rest of an increment (T's rows read and
    built, the chains merged) costs more than a whole build: the closure is paid by then, so
    the limit is above `full_share`; (1 + share) / 2, 0.65 at the default 0.3 (measured in
    docs/build.md: at T 57% of the rows, the increment after its closure cost ~0.8 of a whole
    build, the whole increment ~1.03)."""
    return (1 + full_share) / 2


def comment_rows(paths) -> int:
    """Rows of Parquet files, from their footers (nothing decoded)."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def read_thread_counts(path: Path | None) -> pl.DataFrame | None:
    if path is None or not path.exists():
        return None
    return pl.read_parquet(path, hive_partitioning=False, glob=False)


def nested_counts(frame: pl.DataFrame) -> dict:
    """thread_counts rows summed per stat, as the stats' nested dict."""
    out: dict = {}
    for stat, n in frame.group_by("stat").agg(pl.col("n").sum()).iter_rows():
        head, _, tail = stat.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = int(n)
        else:
            out[head] = int(n)
    return out


def rebuild_increment(root: Path, inc: Increment, comment_files: list[Path],
                      submission_files: list[Path], old_chains: Path, options, rules, keys=None,
                      full_share: float = 1.0) -> Rebuilt:
    """The bucket now, from its old chains and the touched threads only; FullRebuild when a
    full build is the exact answer or the cheaper one: the added files' comment rows above
    `full_share` of the bucket's (a lower bound of T's share, known from the footers before
    any work), or, once the closure is paid, T's rows above touched_limit(full_share)."""
    total = comment_rows(comment_files)
    added = set(inc.added)
    fresh = comment_rows([p for p in comment_files if str(p.relative_to(root)) in added])
    shares = {"added": round(fresh / total, 4) if total else 0.0}
    if total and fresh / total > full_share:
        raise FullRebuild("added_share", shares)
    found = touched_threads(root, inc)
    touched, earlier = found.threads, found.earlier
    shares["touched"] = round(found.rows / total, 4) if total else 0.0
    if total and found.rows / total > touched_limit(full_share):
        raise FullRebuild("touched_share", shares)
    wanted = pl.Series(sorted(touched), dtype=pl.String)
    counts = read_thread_counts(root / inc.threads if inc.threads else None)

    def read(paths: list[Path], contract: pa.Schema, link: pl.Expr):
        """(rows of T in the earlier files, in the files now), each file read once."""
        parts = [(rel in added, thread_rows(root, rel, wanted, rel in added, contract, link))
                 for rel in (str(p.relative_to(root)) for p in paths)
                 if rel in earlier or rel in added]
        return (_concat([f for new, f in parts if not new], contract),
                _concat([f for _, f in parts], contract))

    old_c, new_c = read(comment_files, schema.COMMENTS, pl.col("link_id"))
    old_s, new_s = read(submission_files, schema.SUBMISSIONS, "t3_" + pl.col("id"))
    # as a full build: submissions None only when the bucket never had a file of them (pruned
    # ones count: the chains were built with them)
    old_s = old_s if inc.had_submissions else None
    new_s = new_s if submission_files or inc.had_submissions else None
    new_longest, new_counts = {}, []
    if counts is not None:  # T(old)'s counters as kept: T is not built from the old files
        inside = counts.filter(pl.col("link_id").is_in(wanted.implode()))
        old_stats = nested_counts(inside)
    else:  # a bucket built before the counts were kept: T built from the old files too
        _, old_stats = build_chains(old_c, old_s, options, rules, keys, longest={})
    del old_c, old_s
    table, new_stats = build_chains(new_c, new_s, options, rules, keys, longest=new_longest,
                                    threads=new_counts)
    del new_c, new_s

    kept = [(turns, link) for turns, link in inc.longest if link not in touched]
    best = kept[0][0] if kept else 0
    if best < inc.floor:  # a thread outside the kept list might be the longest
        raise FullRebuild("longest", shares)
    stats = minus(minus(dict_copy(inc.stats), old_stats), new_stats, +1)
    drop_vanished(stats, new_stats, inc.stats)
    stats["longest_chain"] = max(new_stats.get("longest_chain", 0), best)
    per_thread = {link: turns for turns, link in kept}
    per_thread.update(new_longest)
    threads = None
    if counts is not None:
        threads = pl.concat([counts.filter(~pl.col("link_id").is_in(wanted.implode())),
                             new_counts[0]]).sort("link_id", "stat")

    old = pq.read_table(old_chains)
    outside = pc.invert(pc.is_in(old["link_id"], value_set=pa.array(sorted(touched), pa.string())))
    merged = merge_chains(old.filter(outside).cast(schema.CHAINS), table.cast(schema.CHAINS))
    return Rebuilt(merged, stats, longest_record(per_thread, inc.floor), touched, found.ranges,
                   threads, shares)


def merge_chains(old: pa.Table, new: pa.Table) -> pa.Table:
    """Two tables each in link_id order, whose threads are disjoint -> one in link_id order:
    runs of each gathered as slices (a take of the list columns costs more)."""
    if not new.num_rows or not old.num_rows:
        return (old if new.num_rows == 0 else new).combine_chunks()
    links = pa.concat_arrays([old["link_id"].combine_chunks(), new["link_id"].combine_chunks()])
    order = pc.sort_indices(links).to_numpy()  # stable: equal links keep their order
    from_new = order >= old.num_rows
    cuts = np.flatnonzero(np.diff(from_new.astype(np.int8))) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(order)]])
    pieces = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        first = int(order[a])
        if from_new[a]:
            pieces.append(new.slice(first - old.num_rows, b - a))
        else:
            pieces.append(old.slice(first, b - a))
    return pa.concat_tables(pieces).combine_chunks()


def dict_copy(d: dict) -> dict:
    return {k: dict_copy(v) if isinstance(v, dict) else v for k, v in d.items()}


# --- --per-month: a later month appended ---------------------------------------------------------
def append_month(root: Path, inc: Increment, submission_files: list[Path], old_chains: Path,
                 options, rules, keys=None):
    """--per-month joins threads within one month (the group), and chains sort by group first:
    added comment files whose months all come after every earlier file's are a group of their
    own, whose chains go after the old ones; old chains change only through submissions (a
    thread's over_18 and title), so added submission files must hold none of the earlier
    files' threads (disjoint id ranges; Reddit's RS_<month> holds that month's submissions).
    Anything else is a FullRebuild. Returns what rebuild_increment returns."""
    added = {rel: key_columns(root / rel) for rel in inc.added}
    new_c = [rel for rel in inc.added if not is_submissions(rel)]
    new_s = [rel for rel in inc.added if is_submissions(rel)]
    ranges = {rel: file_ranges(k) for rel, k in added.items()}
    old_groups = [m["groups"][1] for r, m in inc.inputs.items()
                  if not is_submissions(r) and m.get("groups")]
    first_new = min((ranges[r]["groups"][0] for r in new_c if ranges[r]["groups"]), default=None)
    if first_new is None or any("groups" not in m for r, m in inc.inputs.items()
                                if not is_submissions(r)) \
            or (old_groups and first_new <= max(old_groups)):
        raise FullRebuild("months")
    for rel in new_s:  # a thread of the old months gets no submission from the added files
        if any(_overlaps(m.get("links"), ranges[rel]["links"]) for r, m in inc.inputs.items()):
            raise FullRebuild("months")
    reach = [ranges[r]["links"] for r in new_c if ranges[r]["links"]]
    needed = []
    for path in submission_files:  # the submissions the new month's threads can join
        rel = str(path.relative_to(root))
        if rel in added or any(_overlaps(inc.inputs[rel].get("links"), span) for span in reach):
            needed.append(path)
    for rel, meta in inc.inputs.items():
        if meta.get("pruned") and is_submissions(rel) and any(
                _overlaps(meta.get("links"), span) for span in reach):
            raise InputError(
                f"{', '.join(input_names(inc.added))} reaches threads of {input_names([rel])[0]}, "
                f"which `rdial prune` removed; extract it again (rdial extract "
                f"{input_names([rel])[0]} --out CORPUS --force), then build")
    comments = _concat([read_frame(root / r, schema.COMMENTS) for r in new_c], schema.COMMENTS)
    subs = _concat([read_frame(p, schema.SUBMISSIONS) for p in needed], schema.SUBMISSIONS) \
        if submission_files or inc.had_submissions else None
    per_thread: dict = {}
    table, month_stats = build_chains(comments, subs, options, rules, keys, longest=per_thread)
    stats = minus(dict_copy(inc.stats), month_stats, +1)
    added_subs = pl.concat([added[r] for r in new_s]) if new_s else None
    # a full build counts every submission row beyond the first of its id; the added ids are
    # new, so theirs add to the old count
    stats["submission_duplicates"] = inc.stats.get("submission_duplicates", 0) + (
        0 if added_subs is None else added_subs.height - added_subs["link_id"].drop_nulls().n_unique())
    stats["longest_chain"] = max(inc.stats.get("longest_chain", 0), month_stats.get("longest_chain", 0))
    for turns, link in inc.longest:
        per_thread[link] = max(per_thread.get(link, 0), turns)
    old = pq.read_table(old_chains).cast(schema.CHAINS)
    merged = pa.concat_tables([old, table.cast(schema.CHAINS)]).combine_chunks()
    touched = set(comments["link_id"].drop_nulls().unique().to_list())
    return Rebuilt(merged, stats, longest_record(per_thread, inc.floor), touched, ranges, None, {})
