"""The numpy plan of one synthetic month, and the small tables the emitters share.

    python -c "from rdial.synth.plan import base36_many; import numpy as np; \
               print(base36_many(np.array([15552, 46656])))"     # ['c00', '1000']

A MonthPlan holds every comment node of a month in creation order (arrays of equal length);
node k has the id base36(id_base + k). Lines refer to nodes through `emit` (one entry per RC
line, in file order; `is_dup` marks the second copy of a repeated record).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rdial.synth.eras import ERA_NAMES

# Node kinds (int8 codes in the plan).
PLAIN, DELETED, REMOVED, BOT, AUTHOR_GONE = 0, 1, 2, 3, 4
KIND_NAMES = {DELETED: "deleted", REMOVED: "removed", BOT: "bots", AUTHOR_GONE: "deleted_authors"}

# Pushshift fetched the early months years later; from ~2019 on, seconds after posting.
RETRIEVAL_BASE = {"2005": 1473738411, "2009": 1426033654}
RETRIEVAL_LAG = {"2019": 7_000_000, "2024": 15}




def retrieval_time(era: str, created: int, month_start: int) -> int:
    """`retrieved_on` below, for one record."""
    if era in RETRIEVAL_BASE:
        return RETRIEVAL_BASE[era] + (created - month_start) // 1000
    return created + RETRIEVAL_LAG[era]


def retrieved_on(era_index: np.ndarray, created: np.ndarray, month_start: int) -> np.ndarray:
    """When Pushshift fetched each record: a fixed date years later, or seconds after posting."""
    base = np.array([RETRIEVAL_BASE.get(e, 0) for e in ERA_NAMES])[era_index]
    lag = np.array([RETRIEVAL_LAG.get(e, 0) for e in ERA_NAMES])[era_index]
    return np.where(base > 0, base + (created - month_start) // 1000, created + lag)


def base36_many(numbers: np.ndarray) -> list[str]:
    """Vectorised base36 of non-negative ints (no leading zeros)."""
    if len(numbers) == 0:
        return []
    width = max(1, int(np.ceil(np.log(float(numbers.max()) + 1) / np.log(36))) + 1)
    powers = 36 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers[:, None] // powers) % 36
    alphabet = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    chars = np.ascontiguousarray(alphabet[digits])
    raw = chars.view(f"S{width}").ravel().tolist()
    return [b.lstrip(b"0").decode() or "0" for b in raw]


@dataclass
class ThreadTable:
    """Every thread created so far (all months): index -> link id, subreddit, slug, flags."""
    link_ids: list[str] = field(default_factory=list)
    subreddits: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)   # only threads of the current month


@dataclass
class WrittenMonth:
    """What a later month may reply to: the written comments of the previous listed month."""
    id_num: np.ndarray         # comment ids as numbers (base36 when written out)
    thread: np.ndarray
    depth: np.ndarray
    threads: np.ndarray        # thread indices created that month


@dataclass
class MonthPlan:
    month: str
    index: int
    era: str                   # era name, or "mixed"
    start: int
    end: int
    thread_idx: np.ndarray     # threads created this month, in time order (global indices)
    thread_t0: np.ndarray
    thread_size: np.ndarray    # planned comments of each (this month only)
    # comment nodes, time order; node k has id base36(id_base + k)
    id_base: int
    thread: np.ndarray
    parent: np.ndarray         # index of parent node, -1 = group root target
    root_parent: list[str]     # parent_id for nodes with parent -1, per group
    group: np.ndarray
    carry: np.ndarray          # node belongs to a carry-in group
    time: np.ndarray
    depth: np.ndarray
    written: np.ndarray
    emit: np.ndarray           # node index per RC line
    is_dup: np.ndarray
    kind: np.ndarray
    feature: np.ndarray
    author: np.ndarray
    score: np.ndarray
    line_era: np.ndarray       # index into ERA_NAMES, per node

    def id_strings(self, nodes: np.ndarray) -> list[str]:
        return base36_many(self.id_base + np.asarray(nodes, dtype=np.int64))
