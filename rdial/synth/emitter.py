"""RC lines of one planned month, chunk by chunk: each chunk on its own random stream.

    emitter = CommentEmitter(plan=plan, table=gen.table, authors=gen.authors, seed=0)
    result = emitter.chunk(3)     # lines 60000..79999 of the RC file (None where a repeat goes)

A chunk depends only on the plan and its index, so chunks can be made in any process and order
and the file is still the same bytes. Repeated records copy a line from an earlier chunk, so
they are left as None here and filled in, in file order, by `fill_duplicates`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from rdial.synth.eras import ERA_NAMES, ERAS
from rdial.synth.plan import (AUTHOR_GONE, BOT, DELETED, KIND_NAMES, PLAIN, REMOVED, MonthPlan,
                              ThreadTable, retrieved_on)
from rdial.synth.lines import (GONE_EMPTY_VARIANT, GONE_VARIANT, PLAIN_VARIANT,
                               CommentLineFormatter)
from rdial.synth.records import author_fullname, hash_small, subreddit_id
from rdial.synth.text import BOT_AUTHORS, BOT_BODIES, FEATURES, BodyMaker

CHUNK = 20_000


@dataclass
class ChunkResult:
    lines: list[bytes | None]          # None where a repeated record goes
    sources: dict[int, tuple]          # node -> (era index, variant, {key: value}) for repeats
    planted: dict[str, list[str]]      # id lists by planted kind, for this chunk's new lines


@dataclass
class CommentEmitter:
    plan: MonthPlan
    table: ThreadTable
    authors: list[str]
    seed: int
    _text: BodyMaker | None = field(default=None, repr=False)

    def __getstate__(self):            # sent to worker processes: no caches
        return {"plan": self.plan, "table": self.table, "authors": self.authors,
                "seed": self.seed, "_text": None}

    def chunk(self, k: int) -> ChunkResult:
        plan = self.plan
        if self._text is None:
            self._text = BodyMaker()
        rng = np.random.default_rng([self.seed, plan.index, 3, k])
        nodes = plan.emit[k * CHUNK:(k + 1) * CHUNK]
        dups = plan.is_dup[k * CHUNK:(k + 1) * CHUNK]
        fresh = nodes[~dups]
        bodies = self._text.bodies(rng, len(fresh), plan.feature[fresh])
        rand = rng.integers(0, 1 << 30, len(fresh))
        planted: dict[str, list[str]] = {}
        cols = self._columns(fresh, bodies, rand, planted)
        variant = [GONE_EMPTY_VARIANT if b in ("[deleted]", "[removed]") else GONE_VARIANT
                   if a == "[deleted]" else PLAIN_VARIANT
                   for a, b in zip(cols["author"], cols["body"])]
        era = plan.line_era[fresh]
        fresh_lines = self._lines(era, cols, variant)
        it = iter("\n".join(fresh_lines).encode().split(b"\n"))    # one encode for the chunk
        lines = [None if d else next(it) for d in dups.tolist()]
        repeated = np.flatnonzero(np.isin(fresh, plan.emit[plan.is_dup])).tolist()
        sources = {int(fresh[i]): (int(era[i]), variant[i], {k: v[i] for k, v in cols.items()})
                   for i in repeated}
        return ChunkResult(lines=lines, sources=sources, planted=planted)

    @staticmethod
    def _lines(era: np.ndarray, cols: dict[str, list], variant: list[int]) -> list[str]:
        eras_here = np.unique(era).tolist()
        if len(eras_here) == 1:
            return formatter(eras_here[0]).lines(cols, variant)
        out: list = [None] * len(variant)
        for e in eras_here:                         # --era mixed: each era its own format
            rows = np.flatnonzero(era == e).tolist()
            part = formatter(e).lines({k: [v[i] for i in rows] for k, v in cols.items()},
                                      [variant[i] for i in rows])
            for i, line in zip(rows, part):
                out[i] = line
        return out

    def _columns(self, nodes: np.ndarray, bodies: list[str], rand: np.ndarray,
                 planted: dict) -> dict[str, list]:
        """Values of every dynamic comment key (lines.COMMENT_KEYS) for first-time lines."""
        plan, table = self.plan, self.table
        p = plan.parent[nodes]
        ids = plan.id_strings(nodes)
        pids = plan.id_strings(np.maximum(p, 0))
        parent_ids = ["t1_" + q if pp >= 0 else plan.root_parent[g]
                      for q, pp, g in zip(pids, p.tolist(), plan.group[nodes].tolist())]
        thread = plan.thread[nodes].tolist()
        subs = [table.subreddits[t] for t in thread]
        kind = plan.kind[nodes]
        authors = [self.authors[x] for x in plan.author[nodes].tolist()]
        distinguished = ["null"] * len(nodes)
        stickied = ["false"] * len(nodes)
        self._special_authors(kind, rand, p, subs, authors, bodies, distinguished, stickied)
        _note_planted(plan.feature[nodes], ids, kind, planted)
        era = plan.line_era[nodes]
        time = plan.time[nodes]
        retrieved = retrieved_on(era, time, plan.start)
        scores = plan.score[nodes].tolist()
        link_ids = ["t3_" + table.link_ids[t] for t in thread]
        wide = bool((era >= ERA_NAMES.index("2019")).any())     # keys only 2019+ lines have
        cols = {
            "id": ids, "link_id": link_ids, "parent_id": parent_ids, "author": authors,
            "body": bodies, "subreddit": subs, "subreddit_id": [subreddit_id(x) for x in subs],
            "created_utc": time.tolist(), "score": scores, "retrieved_on": retrieved.tolist(),
            "distinguished": distinguished, "controversiality": (rand % 29 == 0).astype(int).tolist(),
            "ups": scores, "stickied": stickied, "name": ["t1_" + x for x in ids],
            "created": time.tolist(),
        }
        if wide:
            op = [table.authors[t] for t in thread]
            cols.update({
                "permalink": [f"/r/{s}/comments/{l[3:]}/{table.slugs[t]}/{i}/"
                              for s, l, t, i in zip(subs, link_ids, thread, ids)],
                "subreddit_name_prefixed": ["r/" + x for x in subs],
                "updated_on": (retrieved + 15).tolist(),
                "_meta": (retrieved + 129594).tolist(),
                "is_submitter": ["true" if x == y else "false" for x, y in zip(authors, op)],
                "author_fullname": [author_fullname(a) for a in authors],
                "author_created_utc": [1100000000 + hash_small(a) for a in authors],
            })
        return cols

    def _special_authors(self, kind, rand, parent, subs, authors, bodies, distinguished,
                         stickied) -> None:
        """Deleted, removed, author-gone and bot lines (a few %): edit their columns in place."""
        words = self._text.words
        for i in np.flatnonzero(kind != PLAIN).tolist():
            k = kind[i]
            if k == DELETED:
                authors[i], bodies[i] = "[deleted]", "[deleted]"
            elif k == REMOVED:
                authors[i], bodies[i] = "[deleted]", "[removed]"
            elif k == AUTHOR_GONE:
                authors[i] = "[deleted]"
            elif k == BOT:
                r = int(rand[i])
                authors[i] = BOT_AUTHORS[r % len(BOT_AUTHORS)]
                bodies[i] = BOT_BODIES[r % len(BOT_BODIES)].format(
                    sub=subs[i], word=words[r % len(words)], text=bodies[i])
                if authors[i] == "AutoModerator":
                    distinguished[i] = '"moderator"'
                    stickied[i] = "true" if parent[i] < 0 else "false"


def _note_planted(feature: np.ndarray, ids: list[str], kind: np.ndarray, planted: dict) -> None:
    for code, name in KIND_NAMES.items():
        planted[name] = [ids[i] for i in np.flatnonzero(kind == code).tolist()]
    for f, name in enumerate(FEATURES):
        planted[name] = [ids[i] for i in np.flatnonzero(feature == f).tolist()]


def fill_duplicates(plan: MonthPlan, k: int, lines: list[bytes | None], kept: dict[int, tuple],
                    planted: dict) -> list[bytes]:
    """Put the repeated records of chunk k in place: a later retrieval, a changed score."""
    a = k * CHUNK
    for i in [i for i, line in enumerate(lines) if line is None]:
        era, variant, values = kept[int(plan.emit[a + i])]
        values = dict(values)
        values["retrieved_on"] += 86400 * 30
        values["updated_on"] = values["retrieved_on"] + 15
        values["_meta"] = values["retrieved_on"] + 129594
        values["score"] += 1 + (a + i) % 7
        values["ups"] = values["score"]
        planted["duplicates"].append(values["id"])
        line = formatter(era).lines({key: [v] for key, v in values.items()}, [variant])[0]
        lines[i] = line.encode()
    return lines


@functools.lru_cache(maxsize=None)
def formatter(era_index: int) -> CommentLineFormatter:
    return CommentLineFormatter(ERAS[ERA_NAMES[era_index]])
