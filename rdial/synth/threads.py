"""Thread structure of one month, all in numpy: sizes, reply trees, times, depths.

    python -c "from rdial.synth.threads import *; import numpy as np; \
               print(thread_sizes(np.random.default_rng(0), 1000, 500)[:20])"

Shape of the data (one month, n comment nodes, in creation order after `time_order`):
  group[n]   which group (thread, or carry-in group continuing an older thread) a node is in
  parent[n]  index of the parent node in the same month, or -1 for "the group's root target"
             (the submission for a thread; an older month's record for a carry-in group)
  time[n]    created_utc, int seconds; a parent is never later than its children
"""

from __future__ import annotations

import numpy as np

ROOT_REPLY_SHARE = 0.35   # share of comments that answer the submission directly
DEPTH_BIAS = 0.45         # u**DEPTH_BIAS picks a parent among earlier nodes; <1 favours recent
MEAN_GAP_S = 900.0        # mean seconds between two comments of a thread


def thread_sizes(rng: np.random.Generator, total: int, max_size: int, a: float = 1.75
                 ) -> np.ndarray:
    """Heavy-tailed sizes (Zipf, most threads 1-5 comments, a few hundreds) summing to `total`."""
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    chunks, have = [], 0
    while have < total:
        draw = np.minimum(rng.zipf(a, size=max(16, (total - have) // 3)), max_size)
        chunks.append(draw)
        have += int(draw.sum())
    sizes = np.concatenate(chunks)
    cum = np.cumsum(sizes)
    last = int(np.searchsorted(cum, total))     # first index where cum >= total
    sizes = sizes[:last + 1].copy()
    sizes[-1] -= int(cum[last]) - total
    return sizes[sizes > 0]


def group_layout(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group[n], local index within the group[n]) for groups of the given sizes."""
    n = int(sizes.sum())
    group = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    local = np.arange(n) - np.repeat(starts, sizes)
    return group, local


def reply_tree(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """parent[n]: -1 (reply to the group's root target) or the index of an earlier node."""
    group, local = group_layout(sizes)
    start = np.arange(len(group)) - local
    u = rng.random(len(group))
    pick = np.floor(local * rng.random(len(group)) ** DEPTH_BIAS).astype(np.int64)
    parent = start + np.minimum(pick, np.maximum(local - 1, 0))
    to_root = (local == 0) | (u < ROOT_REPLY_SHARE)
    return np.where(to_root, -1, parent)


def group_times(rng: np.random.Generator, sizes: np.ndarray, t0: np.ndarray, end: int
                ) -> np.ndarray:
    """time[n]: each group starts at t0 and runs forward; squeezed to end before `end`."""
    group, local = group_layout(sizes)
    gaps = rng.exponential(MEAN_GAP_S, len(group)) * (1 + (local < 3) * 2)
    cum = np.cumsum(gaps)
    first = (np.cumsum(sizes) - sizes)
    cum -= np.repeat(cum[first] - gaps[first], sizes)      # restart the sum in every group
    span = np.zeros(len(sizes))
    nz = sizes > 0
    span[nz] = cum[np.cumsum(sizes)[nz] - 1]
    room = np.maximum(end - 1 - t0, 0).astype(np.float64)
    factor = np.minimum(1.0, room / np.maximum(span, 1.0))
    return t0[group] + np.floor(cum * factor[group]).astype(np.int64)


def time_order(time: np.ndarray) -> np.ndarray:
    """Stable order by time: within a group a parent (earlier index) stays before its child."""
    return np.argsort(time, kind="stable")


def remap_parents(parent: np.ndarray, order: np.ndarray) -> np.ndarray:
    """parent indices after reordering nodes by `order` (new position of node order[k] is k)."""
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    reordered = parent[order]
    return np.where(reordered >= 0, position[np.maximum(reordered, 0)], -1)


def depths(parent: np.ndarray, root_depth: np.ndarray) -> np.ndarray:
    """Depth of every node: root_depth[i] where parent[i] == -1, else the parent's depth + 1.

    Pointer jumping: each round adds the distance of the node it points at and jumps twice as
    far, so a depth-20 forest takes 5 rounds of array indexing instead of 20.
    """
    n = len(parent)
    up = np.append(np.where(parent >= 0, parent, n), n)        # node n: the sentinel above roots
    dist = np.append(np.where(parent >= 0, 1, root_depth), 0).astype(np.int64)
    while (up[:n] != n).any():
        dist = dist + dist[up]
        up = up[up]
    return dist[:n]


def has_children(parent: np.ndarray) -> np.ndarray:
    flags = np.zeros(len(parent), dtype=bool)
    flags[parent[parent >= 0]] = True
    return flags
