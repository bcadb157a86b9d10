"""Thread shape and text statistics: what downstream builders and filters will meet."""

import re
from collections import Counter

import numpy as np

from rdial.synth import synth_comments
from rdial.synth.threads import depths, remap_parents, reply_tree, thread_sizes

RC1 = "RC_2005-12.zst"
TOP50 = set("the be to of and a in that have i it for not on with he as you do at this but his "
            "by from they we say her she or an will my one all would there their what so up out "
            "if about who get which go me".split())


def test_thread_sizes_are_heavy_tailed_and_sum_exactly():
    sizes = thread_sizes(np.random.default_rng(0), 100_000, 500)
    assert sizes.sum() == 100_000 and sizes.min() >= 1 and sizes.max() == 500
    assert (sizes == 1).mean() > 0.4                  # most threads are tiny...
    assert (sizes >= 100).sum() > 20                  # ...a few have hundreds of comments


def test_reply_tree_parents_come_first_and_depth_is_realistic():
    rng = np.random.default_rng(1)
    sizes = np.array([1, 2, 300, 50])
    parent = reply_tree(rng, sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    assert parent[0] == -1 and parent[1] == -1                  # first of a group: top level
    inner = parent >= 0
    assert (parent[inner] < np.arange(len(parent))[inner]).all()      # earlier node...
    assert (parent[inner] >= starts[inner]).all()                      # ...of the same thread
    d = depths(parent, np.ones(len(parent), dtype=np.int64))
    assert d[:3].tolist() == [1, 1, 1] and 6 <= d[3:303].max() <= 40


def test_remap_parents_follows_a_reordering():
    parent = np.array([-1, 0, 0, 1])
    order = np.array([0, 2, 1, 3])            # swap nodes 1 and 2
    assert remap_parents(parent, order).tolist() == [-1, 0, 0, 2]


def test_fixture_threads_are_trees_in_time_order(two_months):
    _, m, recs = two_months
    rows = recs[RC1]
    seen, by_id = set(), {}
    for r in rows:
        pid = r["parent_id"]
        if pid.startswith("t1_") and pid[3:] in by_id:
            parent = by_id[pid[3:]]
            assert parent["link_id"] == r["link_id"]
            assert parent["created_utc"] <= r["created_utc"]
        if r["id"] not in seen:
            by_id[r["id"]] = r
            seen.add(r["id"])
    assert sum(r["parent_id"].startswith("t1_") for r in rows) > 2000     # real nesting
    sizes = Counter(r["link_id"] for r in rows)
    assert max(sizes.values()) >= 100 and min(sizes.values()) == 1
    stats = m.months["2005-12"]["stats"]
    assert stats["max_depth"] >= 8 and stats["threads"] > stats["threads_with_comments"]


def test_lines_are_in_time_order_except_repeats(two_months):
    _, m, recs = two_months
    dup_ids = m.ids("duplicates", "2005-12")
    seen, times = set(), []
    for r in recs[RC1]:
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        times.append(r["created_utc"])
    assert times == sorted(times)
    assert len(seen) == 4000 - len(dup_ids)


def test_bodies_look_like_comments_to_the_filters():
    rows = synth_comments(3000, seed=4)
    plain = [r["body"] for r in rows if r["body"] not in ("[deleted]", "[removed]")]
    words = [len(b.split()) for b in plain]
    share = lambda cond: sum(map(cond, words)) / len(words)
    assert share(lambda w: 3 <= w <= 30) > 0.75          # most comments 3-30 words
    assert share(lambda w: w > 30) > 0.05                 # a tail of long ones
    assert max(words) > 100
    with_top50 = sum(bool(TOP50 & set(re.findall(r"[a-z']+", b.lower()))) for b in plain)
    assert with_top50 / len(plain) > 0.85
    tripled = sum(re.search(r"\b(\w+) \1 \1\b", b) is not None for b in plain)
    assert tripled / len(plain) < 0.02                    # rare, planted on purpose
    assert len(set(plain)) / len(plain) > 0.8             # varied, not a handful of strings


def test_bots_are_marked_like_automoderator():
    rows = synth_comments(4000, seed=5, bot_rate=0.05)
    auto = [r for r in rows if r["author"] == "AutoModerator"]
    assert auto and all(r["distinguished"] == "moderator" for r in auto)
    assert all(r["stickied"] == r["parent_id"].startswith("t3_") for r in auto)
    others = [r for r in rows if r["author"] not in ("AutoModerator", "[deleted]")]
    assert all(r["distinguished"] is None for r in others)


def test_depths_start_at_the_root_targets_depth():
    # node 3 continues an older month's comment at depth 3, so it sits at depth 4
    parent = np.array([-1, 0, 1, -1, 3, 0])
    root_depth = np.array([1, 1, 1, 4, 4, 1])
    assert depths(parent, root_depth).tolist() == [1, 2, 3, 4, 5, 2]
