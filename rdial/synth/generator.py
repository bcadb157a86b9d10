"""Synthetic Pushshift months: plan the threads in numpy, then stream JSON lines to the writers.

    python -c "from rdial.synth import SynthConfig, generate_dumps; \
               print(generate_dumps(SynthConfig(out='dumps', comments=1000)).files)"

One month, in order:
  1. plan     thread sizes (Zipf), reply trees, times; carry-in groups that continue threads of
              the previous listed month; nodes to drop (their replies lose their parent)
  2. mark     per node: deleted / removed / bot / author-gone / plain, planted text features
  3. emit     RC lines in time order with duplicates inserted later; then RS lines
Everything comes from numpy generators seeded by (seed, month index, purpose), and lines are
emitted in fixed-size chunks, so the same config gives the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

import numpy as np

from rdial.synth import threads as T
from rdial.synth.config import SynthConfig
from rdial.synth.eras import ERA_NAMES, ERAS, era_of_month
from rdial.synth.emitter import CHUNK, CommentEmitter, fill_duplicates
from rdial.synth.plan import (AUTHOR_GONE, PLAIN, MonthPlan, ThreadTable, WrittenMonth,
                              base36_many, retrieval_time)
from rdial.synth.records import SubmissionFactory
from rdial.synth.text import FEATURES, BodyMaker

CARRY_MAX_GROUP = 20          # carry-in groups are small: a late reply and a few answers
CARRY_DAYS = 10               # ...arriving in the first days of the next month
AUTHOR_POOL = 20_000
AUTHOR_GONE_RATE = 0.01       # author "[deleted]" but the body kept
SUBMISSION_DELETED_RATE = 0.03
SUBMISSION_REMOVED_RATE = 0.02
MISSING_SUBMISSION_RATE = 0.01

SUBREDDITS = ["reddit.com", "programming", "science", "politics", "pics", "funny",
              "AskReddit", "worldnews", "gaming", "movies", "technology", "todayilearned",
              "news", "AskMen", "woodworking", "Music", "nsfw", "gonewild"]
NSFW_SUBREDDITS = {"nsfw", "gonewild"}
LINK_DOMAINS = ["nytimes.com", "bbc.co.uk", "youtube.com", "imgur.com", "i.redd.it",
                "github.com", "wired.com", "theguardian.com", "washingtonpost.com"]

# First ids of each era, so ids look like the time (2005: "c13"; 2019: "f0..."; 2024: "k...").
COMMENT_ID_BASE = {"2005": int("c00", 36), "2009": int("c0c0000", 36),
                   "2019": int("f000000", 36), "2024": int("k000000", 36)}
SUBMISSION_ID_BASE = {"2005": int("17800", 36), "2009": int("9f000", 36),
                      "2019": int("d00000", 36), "2024": int("1a00000", 36)}


def month_bounds(month: str) -> tuple[int, int]:
    y, m = int(month[:4]), int(month[5:7])
    start = datetime(y, m, 1, tzinfo=timezone.utc)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc)
    return int(start.timestamp()), int(end.timestamp())


_NOT_SLUG = re.compile(r"[^a-z0-9 ]")


def _slug(title: str) -> str:
    """Reddit's permalink slug: lower case, letters and digits, words joined by "_"."""
    return "_".join(_NOT_SLUG.sub("", title.lower()).split()[:8])


@dataclass
class Groups:
    """Reply groups of one month (a new thread, or a carry-in group continuing an older one)."""
    sizes: np.ndarray          # comments in each group
    thread: np.ndarray         # global thread index of each group
    t0: np.ndarray             # when the group starts
    root: list[str]            # parent_id of the group's top-level comments
    depth: np.ndarray          # depth of those top-level comments
    carry: np.ndarray          # True for carry-in groups


class SynthGenerator:
    """Generates the months of a SynthConfig one after another (a later month needs the earlier)."""

    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.text = BodyMaker()
        self.table = ThreadTable()
        self.prev: WrittenMonth | None = None
        self.comment_counter = 0
        self.submission_counter = 0
        self.authors = self._author_pool()
        ranks = np.arange(1, AUTHOR_POOL + 1, dtype=np.float64)
        self.author_cdf = np.cumsum(1 / ranks) / np.sum(1 / ranks)

    def rng(self, month_index: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng([self.cfg.seed, month_index, purpose])

    def _author_pool(self) -> list[str]:
        rng = np.random.default_rng([self.cfg.seed, 999_999])
        words = self.text.words
        a = rng.integers(0, len(words), AUTHOR_POOL).tolist()
        b = rng.integers(0, len(words), AUTHOR_POOL).tolist()
        n = rng.integers(0, 3000, AUTHOR_POOL).tolist()
        style = rng.integers(0, 4, AUTHOR_POOL).tolist()
        out = []
        for i in range(AUTHOR_POOL):
            w1, w2 = words[a[i]].replace("'", ""), words[b[i]].replace("'", "")
            s = style[i]
            name = (f"{w1}{w2}" if s == 0 else f"{w1.capitalize()}{w2.capitalize()}{n[i]}"
                    if s == 1 else f"{w1}_{w2}" if s == 2 else f"{w1}{n[i]}")
            out.append(f"{name}{i}" if len(name) < 3 else name)
        return out

    # ---- planning -------------------------------------------------------------------------

    def plan(self, index: int) -> MonthPlan:
        """The structure of month `index`: threads, reply trees, times, what is written where."""
        cfg = self.cfg
        month = cfg.months[index]
        era = cfg.era if cfg.era in ERA_NAMES + ("mixed",) else era_of_month(month)
        start, end = month_bounds(month)
        rng = self.rng(index, 1)
        n_dup, n_drop, n_carry, n_own = self._line_budget()
        sizes, t0, thread_idx = self._new_threads(rng, index, era, start, end, n_own)
        groups = self._groups(rng, sizes, t0, thread_idx, n_carry, start)
        parent, group, time, depth = self._trees(rng, groups, end)
        written = np.ones(len(group), dtype=bool)
        written[self._choose_dropped(rng, parent, n_drop)] = False
        id_base = self._comment_id_base(era, month, len(group))
        emit, is_dup = self._emit_order(rng, np.flatnonzero(written), n_dup)
        kind, feature, author, score, line_era = self._mark(self.rng(index, 2), len(group), era)
        return MonthPlan(
            month=month, index=index, era=era, start=start, end=end, thread_idx=thread_idx,
            thread_t0=t0, thread_size=sizes, id_base=id_base, thread=groups.thread[group],
            parent=parent, root_parent=groups.root, group=group, carry=groups.carry[group],
            time=time, depth=depth, written=written, emit=emit, is_dup=is_dup, kind=kind,
            feature=feature, author=author, score=score, line_era=line_era)

    def _line_budget(self) -> tuple[int, int, int, int]:
        """(repeats, dropped, carry-in, own-thread) comment counts; lines come out exact:
        own + carry-in - dropped + repeats == --comments."""
        cfg = self.cfg
        n_lines = cfg.comments
        n_dup = int(round(n_lines * cfg.duplicate_rate)) if n_lines > 1 else 0
        n_drop = int(round(n_lines * cfg.missing_parent_rate))
        can_carry = self.prev is not None and len(self.prev.id_num) > 0
        n_carry = int(round(n_lines * cfg.cross_month_rate)) if can_carry else 0
        return n_dup, n_drop, n_carry, n_lines - n_dup - n_carry + n_drop

    def _new_threads(self, rng, index: int, era: str, start: int, end: int, n_own: int):
        """Threads created this month, in time order: (comment count, start time, index)."""
        own_sizes = T.thread_sizes(rng, n_own, self.cfg.max_thread)
        n_empty = int(round(len(own_sizes) * self.cfg.submissions_ratio))
        sizes = np.concatenate([own_sizes, np.zeros(n_empty, dtype=np.int64)])
        sizes = sizes[rng.permutation(len(sizes))]
        t0 = np.sort(rng.integers(start, end, len(sizes)))
        return sizes, t0, self._register_threads(rng, index, era, t0)

    def _groups(self, rng, sizes, t0, thread_idx, n_carry: int, start: int) -> Groups:
        """Reply groups: this month's commented threads, then carry-in groups that continue
        threads of the previous listed month in its first days."""
        carry_sizes = T.thread_sizes(rng, n_carry, CARRY_MAX_GROUP, a=2.5)
        carry_thread, carry_root, carry_depth = self._carry_targets(rng, len(carry_sizes))
        carry_t0 = start + rng.integers(0, CARRY_DAYS * 86400, len(carry_sizes))
        own = sizes > 0
        n_own = int(own.sum())
        return Groups(
            sizes=np.concatenate([sizes[own], carry_sizes]).astype(np.int64),
            thread=np.concatenate([thread_idx[own], carry_thread]).astype(np.int64),
            t0=np.concatenate([t0[own], carry_t0]).astype(np.int64),
            root=["t3_" + self.table.link_ids[t] for t in thread_idx[own].tolist()] + carry_root,
            depth=np.concatenate([np.ones(n_own, dtype=np.int64), carry_depth]),
            carry=np.concatenate([np.zeros(n_own, bool), np.ones(len(carry_sizes), bool)]))

    @staticmethod
    def _trees(rng, groups: Groups, end: int):
        """(parent, group, time, depth) per comment node, nodes in time order."""
        parent = T.reply_tree(rng, groups.sizes)
        group, _ = T.group_layout(groups.sizes)
        time = T.group_times(rng, groups.sizes, groups.t0, end)
        order = T.time_order(time)
        parent = T.remap_parents(parent, order)
        group, time = group[order], time[order]
        return parent, group, time, T.depths(parent, groups.depth[group])

    def _register_threads(self, rng, index: int, era: str, t0: np.ndarray) -> np.ndarray:
        n = len(t0)
        first = len(self.table.link_ids)
        base_era = era if era in COMMENT_ID_BASE else "2019"
        base = max(self.submission_counter, SUBMISSION_ID_BASE[base_era])
        ids = base36_many(base + np.arange(n, dtype=np.int64))
        self.submission_counter = base + n
        weights = np.array([0.3 if s in NSFW_SUBREDDITS else 1.0 for s in SUBREDDITS])
        if base_era == "2005":
            weights[0] = 40.0                       # early Reddit was mostly r/reddit.com
        subs = rng.choice(len(SUBREDDITS), size=n, p=weights / weights.sum()).tolist()
        titles = self.text.title(rng, n)
        owners = np.minimum(np.searchsorted(self.author_cdf, rng.random(n)), AUTHOR_POOL - 1)
        self.table.authors.extend(self.authors[a] for a in owners.tolist())
        self.table.link_ids.extend(ids)
        self.table.subreddits.extend(SUBREDDITS[s] for s in subs)
        self.table.slugs.extend(_slug(t) for t in titles)
        self.table.titles.update(zip(range(first, first + n), titles))
        return np.arange(first, first + n, dtype=np.int64)

    def _carry_targets(self, rng, k: int) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Per carry-in group: its thread, the parent_id of its root, the root's depth."""
        if k == 0:
            return np.zeros(0, np.int64), [], np.zeros(0, np.int64)
        prev = self.prev
        to_comment = rng.random(k) < 0.7
        ci = rng.integers(0, len(prev.id_num), k)
        comment_ids = base36_many(prev.id_num[ci])
        ti = prev.threads[rng.integers(0, max(len(prev.threads), 1), k)] if len(prev.threads) \
            else prev.thread[ci]
        thread = np.where(to_comment, prev.thread[ci], ti)
        depth = np.where(to_comment, prev.depth[ci] + 1, 1)
        roots = [("t1_" + c) if tc else ("t3_" + self.table.link_ids[t])
                 for tc, c, t in zip(to_comment.tolist(), comment_ids, thread.tolist())]
        return thread.astype(np.int64), roots, depth.astype(np.int64)

    @staticmethod
    def _choose_dropped(rng, parent: np.ndarray, k: int) -> np.ndarray:
        """k nodes to leave out, preferring nodes that have replies (so parents go missing)."""
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        with_replies = np.flatnonzero(T.has_children(parent))
        take = rng.choice(with_replies, size=min(k, len(with_replies)), replace=False)
        if len(take) < k:
            rest = np.setdiff1d(np.arange(len(parent)), take)
            take = np.concatenate([take, rng.choice(rest, size=k - len(take), replace=False)])
        return np.sort(take)

    def _comment_id_base(self, era: str, month: str, n: int) -> int:
        """First id number of this month's n comment nodes; ids only grow, month to month."""
        base_era = era if era in COMMENT_ID_BASE else era_of_month(month)
        base = max(self.comment_counter, COMMENT_ID_BASE[base_era])
        self.comment_counter = base + n
        return base

    @staticmethod
    def _emit_order(rng, rows: np.ndarray, n_dup: int) -> tuple[np.ndarray, np.ndarray]:
        """RC line order: written nodes in time order, each duplicate somewhere after its original."""
        n_dup = min(n_dup, len(rows))
        src = np.sort(rng.choice(len(rows), size=n_dup, replace=False))
        keys = np.concatenate([np.arange(len(rows), dtype=np.float64),
                               src + 0.5 + rng.random(n_dup) * (len(rows) - src - 0.5)])
        order = np.argsort(keys, kind="stable")
        nodes = np.concatenate([rows, rows[src]])[order]
        is_dup = np.concatenate([np.zeros(len(rows), bool), np.ones(n_dup, bool)])[order]
        return nodes, is_dup

    def _mark(self, rng, n: int, era: str):
        cfg = self.cfg
        u = rng.random(n)
        edges = np.cumsum([cfg.deleted_rate, cfg.removed_rate, cfg.bot_rate, AUTHOR_GONE_RATE])
        kind = np.searchsorted(edges, u, side="right").astype(np.int8) + 1
        kind[kind > AUTHOR_GONE] = PLAIN
        feature = self.text.plant_mask(rng, n)
        feature[(kind != PLAIN) & (kind != AUTHOR_GONE)] = -1
        author = np.minimum(np.searchsorted(self.author_cdf, rng.random(n)), AUTHOR_POOL - 1)
        score = np.floor(np.exp(rng.normal(0.4, 1.4, n))).astype(np.int64)
        negative = rng.random(n) < 0.12
        score = np.where(negative, -rng.integers(0, 12, n), score)
        if era == "mixed":
            line_era = rng.integers(0, len(ERA_NAMES), n).astype(np.int8)
        else:
            line_era = np.full(n, ERA_NAMES.index(era), dtype=np.int8)
        return kind, feature, author, score, line_era

    # ---- emission -------------------------------------------------------------------------

    def comment_lines(self, plan: MonthPlan, planted: dict, pool=None) -> Iterator[list[bytes]]:
        """RC lines in chunks of CHUNK; fills `planted` (id lists) as it goes.

        Chunks are independent (each has its own random stream), so a ChunkPool may make them
        in other processes; duplicates, which copy a record from an earlier chunk, are filled in
        here, in order. Same bytes whatever the number of processes.
        """
        emitter = CommentEmitter(plan=plan, table=self.table, authors=self.authors,
                                 seed=self.cfg.seed)
        n_chunks = (len(plan.emit) + CHUNK - 1) // CHUNK
        results = pool.map_chunks(emitter, n_chunks) if pool else map(emitter.chunk, range(n_chunks))
        kept: dict[int, tuple] = {}
        for k, result in enumerate(results):
            kept.update(result.sources)
            for name, ids in result.planted.items():
                planted[name].extend(ids)
            yield fill_duplicates(plan, k, result.lines, kept, planted)

    def submission_lines(self, plan: MonthPlan, planted: dict) -> Iterator[list[bytes]]:
        """RS lines (threads created this month, in time order) in chunks of CHUNK."""
        rng = self.rng(plan.index, 4)
        factories = [SubmissionFactory(ERAS[e]) for e in ERA_NAMES]
        for a in range(0, len(plan.thread_idx), CHUNK):
            k = min(CHUNK, len(plan.thread_idx) - a)
            u = rng.random(k).tolist()
            is_self = (rng.random(k) < 0.4).tolist()
            nsfw = (rng.random(k) < self.cfg.nsfw_rate).tolist()
            scores = np.floor(np.exp(rng.normal(1.0, 1.8, k))).astype(np.int64).tolist()
            selftexts = self.text.bodies(rng, k)
            line_era = (rng.integers(0, len(ERA_NAMES), k) if plan.era == "mixed" else
                        np.full(k, ERA_NAMES.index(plan.era))).tolist()
            threads = plan.thread_idx[a:a + k].tolist()
            t0 = plan.thread_t0[a:a + k].tolist()
            size = plan.thread_size[a:a + k].tolist()
            lines = []
            for j in range(k):
                rec = self._submission(plan, threads[j], t0[j], size[j], u[j], is_self[j],
                                       nsfw[j], scores[j], selftexts[j], factories[line_era[j]],
                                       planted)
                if rec is not None:
                    lines.append(ERAS[ERA_NAMES[line_era[j]]].encode(rec))
            yield lines

    def _submission(self, plan: MonthPlan, t: int, created: int, size: int, u: float,
                    is_self: bool, nsfw: bool, score: int, selftext: str, factory, planted):
        link, sub, slug = self.table.link_ids[t], self.table.subreddits[t], self.table.slugs[t]
        over_18 = nsfw or sub in NSFW_SUBREDDITS
        if over_18:
            planted["nsfw_threads"].append("t3_" + link)
        if u < MISSING_SUBMISSION_RATE and size > 0:
            planted["missing_submissions"].append("t3_" + link)
            return None
        author = self.table.authors[t]
        selftext = selftext if is_self else ""
        v = u - MISSING_SUBMISSION_RATE
        if 0 <= v < SUBMISSION_DELETED_RATE:
            author, selftext = "[deleted]", "[deleted]"
            planted["deleted_submissions"].append("t3_" + link)
        elif 0 <= v - SUBMISSION_DELETED_RATE < SUBMISSION_REMOVED_RATE:
            selftext = "[removed]"
            planted["removed_submissions"].append("t3_" + link)
        if is_self:
            url, domain = f"https://www.reddit.com/r/{sub}/comments/{link}/{slug}/", f"self.{sub}"
        else:
            domain = LINK_DOMAINS[(score + t) % len(LINK_DOMAINS)]
            url = f"http://www.{domain}/{slug}.html"
        retrieved = retrieval_time(factory.era.name, created, plan.start)
        return factory.make(
            id=link, author=author, title=self.table.titles[t], selftext=selftext, url=url,
            domain=domain, is_self=is_self, over_18=over_18, subreddit=sub, created=created,
            score=score, num_comments=size, retrieved_on=retrieved, slug=slug)

    def finish(self, plan: MonthPlan) -> None:
        """Remember what the next month may reply to (titles of older threads are not needed)."""
        w = plan.written
        self.prev = WrittenMonth(id_num=plan.id_base + np.flatnonzero(w), thread=plan.thread[w],
                                 depth=plan.depth[w], threads=plan.thread_idx)
        for t in plan.thread_idx.tolist():
            self.table.titles.pop(t, None)


PLANTED_KINDS = ("deleted", "removed", "deleted_authors", "bots", "duplicates", "dropped",
                 "missing_parents", "cross_month_replies", "cross_month_comments") + FEATURES + (
                "nsfw_threads", "missing_submissions", "deleted_submissions",
                "removed_submissions")


def structural_ids(plan: MonthPlan, planted: dict) -> None:
    """Ids that follow from the plan alone: dropped, missing parents, cross-month replies."""
    w = plan.written
    p = plan.parent
    orphan = w & (p >= 0) & ~w[np.maximum(p, 0)]
    planted["dropped"] = plan.id_strings(np.flatnonzero(~w))
    planted["missing_parents"] = plan.id_strings(np.flatnonzero(orphan))
    planted["cross_month_replies"] = plan.id_strings(np.flatnonzero(w & plan.carry & (p < 0)))
    planted["cross_month_comments"] = plan.id_strings(np.flatnonzero(w & plan.carry))
    planted["duplicates"] = sorted(set(planted["duplicates"]))
