"""The vectorised core of `rdial build`: a forest of reply links -> root-to-leaf chains.

    python -c "import numpy as np; from rdial.build.chains import ChainBuilder; \
print(ChainBuilder(min_turns=2).build(np.array([-1, 0, 1, 1]), np.ones(4, bool)).paths())"

Input is one bucket's nodes as numpy arrays, already sorted (index = rank: thread, then time):
  parent[i]   index of the node that i replies to, or -1 (the submission, missing, cut)
  usable[i]   False for [deleted]/[removed]/empty bodies and comments a filter rule dropped
  target_ok[i]  whether i may end a chain (comments yes; title nodes of `--with-title` no);
                the stats count only these nodes ("usable", "roots": chains' first comments)

Everything is whole-array numpy work; no Python loop runs over nodes. The loops that remain run
over *rounds*: pointer jumping takes ceil(log2 n) + 1 rounds (bounded, so a parent cycle cannot
hang it), and expanding the chains takes one round per turn of the longest chain.

Malformed links: a cycle among usable comments (a -> b -> a) is cut at its oldest member (lowest
index), which then starts its chains like a comment whose parent is missing; the cut is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ChainPaths:
    """Chains as flat node indices: chain k is `nodes[offsets[k]:offsets[k+1]]`, root first."""

    nodes: np.ndarray      # int64, every chain's node indices concatenated, oldest turn first
    offsets: np.ndarray    # int64, len = chains + 1
    targets: np.ndarray    # int64, the last node of each chain, ascending
    stats: dict = field(default_factory=dict)
    # int64 per node: turns of the longest usable path ending there (depth + 1) where the node
    # may end a chain, else 0; "longest_chain" is their maximum (an incremental build keeps it
    # per thread: rdial/build/incremental.py)
    longest: np.ndarray | None = None
    # where each counter of `stats` comes from, to count it per thread (incremental.py):
    # {stat: (node indices, weights or None)}; "chains" and "turns" at each chain's last node
    counted: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.targets)

    def paths(self) -> list[list[int]]:
        """For tests and debugging: the chains as Python lists of node indices."""
        return [self.nodes[a:b].tolist() for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def usable_parents(parent: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """parent[i] where both i and its parent are usable, else -1: the forest chains live in."""
    has_parent = parent >= 0
    linked = usable & has_parent
    linked[has_parent] &= usable[parent[has_parent]]
    return np.where(linked, parent, -1)


@dataclass
class Jumps:
    """Pointer jumping result: for each node, where its ancestry ends and how far away it is."""

    top: np.ndarray     # the root reached, or (for cycles) a node on the cycle
    depth: np.ndarray   # edges to the root (meaningless where not rooted)
    low: np.ndarray     # smallest index seen on the way (for a cycle member: the cycle's minimum)
    rooted: np.ndarray  # bool, ancestry ends at a root


def jump_to_roots(upar: np.ndarray) -> Jumps:
    """Doubling: after round r every node points 2^r steps up (roots point to themselves).

    Bounded to ceil(log2 n) + 1 rounds, enough for any path in n nodes; on a cycle the pointer
    just keeps turning, so the bound (not convergence) ends the loop.
    """
    n = len(upar)
    idx = np.arange(n, dtype=np.int64)
    top = np.where(upar >= 0, upar, idx)
    depth = (upar >= 0).astype(np.int64)
    low = np.minimum(idx, top)
    for _ in range(math.ceil(math.log2(n + 1)) + 1):
        nxt = top[top]
        if np.array_equal(nxt, top):
            break
        depth = depth + depth[top]
        low = np.minimum(low, low[top])
        top = nxt
    rooted = upar[top] < 0 if n else np.zeros(0, dtype=bool)
    return Jumps(top=top, depth=depth, low=low, rooted=rooted)


def cut_cycles(upar: np.ndarray, jumps: Jumps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every cycle at its lowest-index member; returns (upar, the nodes cut, the nodes on
    cycles).

    For a node that never reaches a root, `top` lands on its cycle, and `top` restricted to a
    cycle is a rotation, so the tops of all unrooted nodes are exactly the cycle members.
    """
    if jumps.rooted.all():
        return upar, np.zeros(0, np.int64), np.zeros(0, np.int64)
    members = np.unique(jumps.top[~jumps.rooted])
    cuts = members[jumps.low[members] == members]
    upar = upar.copy()
    upar[cuts] = -1
    return upar, cuts, members


class ChainBuilder:
    """Chains ending at leaves (or at every usable node) of a forest, as flat index arrays."""

    def __init__(self, *, targets: str = "leaves", min_turns: int = 2, max_turns: int = 0):
        if targets not in ("leaves", "all"):
            raise ValueError(f"targets must be 'leaves' or 'all', not {targets!r}")
        self.targets, self.min_turns, self.max_turns = targets, min_turns, max_turns

    def build(self, parent: np.ndarray, usable: np.ndarray,
              target_ok: np.ndarray | None = None) -> ChainPaths:
        parent = np.asarray(parent, dtype=np.int64)
        usable = np.asarray(usable, dtype=bool)
        target_ok = usable if target_ok is None else usable & np.asarray(target_ok, dtype=bool)
        upar = usable_parents(parent, usable)
        jumps = jump_to_roots(upar)
        upar, cuts, members = cut_cycles(upar, jumps)
        cycles, on_cycles = len(cuts), len(members)
        if cycles:
            jumps = jump_to_roots(upar)
        candidates = ends = self._ends(upar, usable, target_ok)
        turns = jumps.depth[ends] + 1
        long_enough = turns >= self.min_turns
        ends, turns = ends[long_enough], turns[long_enough]
        if self.max_turns:
            turns = np.minimum(turns, self.max_turns)
        nodes, offsets = expand_paths(upar, ends, turns)
        stats = {
            "usable": int(target_ok.sum()),
            "roots": int((target_ok & (upar < 0)).sum()),
            "cycles_cut": cycles,
            "comments_on_cycles": on_cycles,
            "candidate_ends": int(len(long_enough)),
            "too_short": int((~long_enough).sum()),
            "chains": int(len(ends)),
            "turns": int(offsets[-1]),
            "longest_chain": int(jumps.depth[target_ok].max() + 1) if target_ok.any() else 0,
        }
        longest = np.where(target_ok, jumps.depth + 1, 0)
        counted = {"usable": (np.flatnonzero(target_ok), None),
                   "roots": (np.flatnonzero(target_ok & (upar < 0)), None),
                   "cycles_cut": (cuts, None), "comments_on_cycles": (members, None),
                   "candidate_ends": (candidates, None),
                   "too_short": (candidates[~long_enough], None),
                   "chains": (ends, None), "turns": (ends, turns)}
        return ChainPaths(nodes=nodes, offsets=offsets, targets=ends, stats=stats, longest=longest,
                          counted=counted)

    def _ends(self, upar: np.ndarray, usable: np.ndarray, target_ok: np.ndarray) -> np.ndarray:
        """Indices that end a chain: leaves (no usable child) or, with targets=all, every node."""
        if self.targets == "all":
            return np.flatnonzero(target_ok)
        has_child = np.zeros(len(upar), dtype=bool)
        has_child[upar[upar >= 0]] = True
        return np.flatnonzero(target_ok & ~has_child)


def expand_paths(upar: np.ndarray, ends: np.ndarray, turns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write each chain's last `turns[k]` ancestors, walking all chains up one step per round.

    Chains are filled from their end backwards; a chain leaves the active set when its turns
    are written, so a round costs the number of chains still that long.
    """
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    np.cumsum(turns, out=offsets[1:])
    nodes = np.empty(int(offsets[-1]), dtype=np.int64)
    cur, pos, left = ends.astype(np.int64), offsets[1:] - 1, turns.astype(np.int64)
    while len(cur):
        nodes[pos] = cur
        left = left - 1
        more = left > 0
        cur, pos, left = upar[cur[more]], pos[more] - 1, left[more]
    return nodes, offsets
