"""RC lines of one planned month, chunk by chunk: each chunk on its own random stream.

    emitter = CommentEmitter(plan=plan, table=gen.table, authors=gen.authors, seed=0)
    result = emitter.chunk(3)     # lines 60000..79999 of the RC file (None where a repeat goes)

A chunk depends only on the plan and its index, so chunks can be made in any process and order
and the file is still the same bytes. Repeated records copy a line from an earlier chunk, so
they are left as None here and filled in, in file order, by `fill_duplicates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rdial.synth.eras import ERA_NAMES, ERAS
from rdial.synth.plan import (AUTHOR_GONE, BOT, DELETED, KIND_NAMES, PLAIN, REMOVED, MonthPlan,
                              ThreadTable, retrieved_on)
from rdial.synth.records import CommentFactory
from rdial.synth.text import BOT_AUTHORS, BOT_BODIES, FEATURES, BodyMaker

CHUNK = 20_000


@dataclass
class ChunkResult:
    lines: list[bytes | None]          # None where a repeated record goes
    sources: dict[int, dict]           # node -> record, for nodes repeated later in the file
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
        records = self._records(fresh, bodies, rand, planted)
        encoders = [ERAS[e].encode for e in ERA_NAMES]
        eras = plan.line_era[fresh].tolist()
        fresh_lines = iter([encoders[e](rec) for e, rec in zip(eras, records)])
        lines = [None if d else next(fresh_lines) for d in dups.tolist()]
        repeated = np.isin(fresh, plan.emit[plan.is_dup])
        sources = {n: records[i] for i, n in zip(np.flatnonzero(repeated).tolist(),
                                                  fresh[repeated].tolist())}
        return ChunkResult(lines=lines, sources=sources, planted=planted)

    def _records(self, nodes: np.ndarray, bodies: list[str], rand: np.ndarray,
                 planted: dict) -> list[dict]:
        """Records of first-time lines, built column-wise, era by era, in `nodes` order."""
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
        distinguished = [None] * len(nodes)
        stickied = [False] * len(nodes)
        self._special_authors(kind, rand, p, subs, authors, bodies, distinguished, stickied)
        _note_planted(plan.feature[nodes], ids, kind, planted)
        era = plan.line_era[nodes]
        time = plan.time[nodes]
        op = [table.authors[t] for t in thread]
        cols = dict(
            ids=ids, link_ids=["t3_" + table.link_ids[t] for t in thread], parent_ids=parent_ids,
            authors=authors, bodies=bodies, subreddits=subs, created=time.tolist(),
            scores=plan.score[nodes].tolist(),
            retrieved=retrieved_on(era, time, plan.start).tolist(),
            slugs=[table.slugs[t] for t in thread], distinguished=distinguished,
            stickied=stickied, controversiality=(rand % 29 == 0).astype(int).tolist(),
            is_submitter=[x == y for x, y in zip(authors, op)])
        factories = [CommentFactory(ERAS[e]) for e in ERA_NAMES]
        eras_here = np.unique(era).tolist()
        if len(eras_here) == 1:
            f = factories[eras_here[0]]
            return f.records(f.columns(**cols))
        out: list = [None] * len(nodes)
        for e in eras_here:                         # --era mixed: each era its own columns
            rows = np.flatnonzero(era == e).tolist()
            f = factories[e]
            part = f.records(f.columns(**{k: [v[i] for i in rows] for k, v in cols.items()}))
            for i, rec in zip(rows, part):
                out[i] = rec
        return out

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
                    distinguished[i], stickied[i] = "moderator", bool(parent[i] < 0)


def _note_planted(feature: np.ndarray, ids: list[str], kind: np.ndarray, planted: dict) -> None:
    for code, name in KIND_NAMES.items():
        planted[name] = [ids[i] for i in np.flatnonzero(kind == code).tolist()]
    for f, name in enumerate(FEATURES):
        planted[name] = [ids[i] for i in np.flatnonzero(feature == f).tolist()]


def fill_duplicates(plan: MonthPlan, k: int, lines: list[bytes | None], kept: dict[int, dict],
                    planted: dict) -> list[bytes]:
    """Put the repeated records of chunk k in place: a later retrieval, a changed score."""
    a = k * CHUNK
    for i in [i for i, line in enumerate(lines) if line is None]:
        node = int(plan.emit[a + i])
        rec = dict(kept[node])
        rec["retrieved_on"] += 86400 * 30
        rec["score"] += 1 + (a + i) % 7
        if "ups" in rec:
            rec["ups"] = rec["score"]
        planted["duplicates"].append(rec["id"])
        lines[i] = ERAS[ERA_NAMES[plan.line_era[node]]].encode(rec)
    return lines
