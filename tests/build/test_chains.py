"""ChainBuilder on index arrays: exact paths, cycles, and agreement with a brute-force walk."""

import numpy as np
import pytest

from rdial.build.chains import ChainBuilder, jump_to_roots


def build(parent, usable=None, **kw):
    parent = np.array(parent, dtype=np.int64)
    usable = np.ones(len(parent), bool) if usable is None else np.array(usable, bool)
    return ChainBuilder(**kw).build(parent, usable)


def test_leaves_of_a_small_tree():
    #   0 -> 1 -> 2
    #          -> 3      4 (alone)
    result = build([-1, 0, 1, 1, -1])
    assert result.paths() == [[0, 1, 2], [0, 1, 3]]
    assert result.stats["too_short"] == 1  # the lone node 4
    assert result.stats["roots"] == 2


def test_unusable_node_splits_the_path():
    # 0 -> 1(unusable) -> 2 -> 3 ; node 0 is a leaf of length 1 and is dropped
    result = build([-1, 0, 1, 2], usable=[True, False, True, True])
    assert result.paths() == [[2, 3]]
    assert result.stats["usable"] == 3


def test_targets_all_and_min_turns_one():
    result = build([-1, 0, 1, 0], targets="all", min_turns=1)
    assert result.paths() == [[0], [0, 1], [0, 1, 2], [0, 3]]


def test_max_turns_keeps_the_last_turns():
    result = build([-1, 0, 1, 2, 3], max_turns=3)
    assert result.paths() == [[2, 3, 4]]
    assert result.stats["longest_chain"] == 5


def test_cycle_is_cut_at_its_lowest_index_and_never_hangs():
    # 0 -> 2 -> 1 -> 0 is a cycle (parent of 0 is 1); 3 hangs below the cycle; 4 -> 5 is fine
    result = build([1, 2, 0, 1, -1, 4])
    # cut at 0: 0 becomes a root, 0 <- 2 <- 1 <- 3
    assert result.paths() == [[0, 2, 1, 3], [4, 5]]
    assert (result.stats["cycles_cut"], result.stats["comments_on_cycles"]) == (1, 3)


def test_two_cycles_and_a_power_of_two_cycle():
    # cycle A: 0 <-> 1 (length 2, a power of two: pointer jumping converges on it)
    # cycle B: 2 -> 3 -> 4 -> 2 (length 3)
    result = build([1, 0, 4, 2, 3])
    assert result.stats["cycles_cut"] == 2
    assert result.paths() == [[0, 1], [2, 3, 4]]


def test_deep_chain_takes_logarithmic_rounds():
    n = 100_000
    parent = np.arange(-1, n - 1)
    jumps = jump_to_roots(parent)
    assert jumps.depth[-1] == n - 1 and jumps.rooted.all()
    result = build(parent, max_turns=4)
    assert result.paths() == [[n - 4, n - 3, n - 2, n - 1]]


def brute_force(parent, usable, targets, min_turns):
    """Walk up from every candidate (DialoGPT's way), with a visited set against cycles."""
    n = len(parent)
    up = [p if p >= 0 and usable[i] and usable[p] else -1 for i, p in enumerate(parent)]
    has_child = {p for i, p in enumerate(up) if p >= 0}
    chains = []
    for i in range(n):
        if not usable[i] or (targets == "leaves" and i in has_child):
            continue
        path, seen, cur = [], set(), i
        while cur >= 0 and cur not in seen:
            seen.add(cur)
            path.append(cur)
            cur = up[cur]
        if len(path) >= min_turns:
            chains.append(path[::-1])
    return chains


@pytest.mark.parametrize("targets", ["leaves", "all"])
def test_random_forests_match_brute_force(targets):
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(1, 300))
        # parents point to earlier nodes (a forest) or nowhere
        parent = np.array([int(rng.integers(-1, i)) if i else -1 for i in range(n)])
        usable = rng.random(n) > 0.15
        got = ChainBuilder(targets=targets, min_turns=2).build(parent, usable).paths()
        assert got == brute_force(parent, usable, targets, 2)
