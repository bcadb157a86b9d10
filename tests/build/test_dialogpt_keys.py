"""DialoGPT's keys in `rdial build` and `rdial filter`: small inline threads, exact results."""

import gzip
import hashlib
import io
import json

import pytest

from rdial.build.dialogpt_keys import KeySource, key_batches, LineCounts
from rdial.build.stage import BuildConfig, run_build
from rdial.errors import ConfigError
from rdial.filter.export import export
from rdial.filter.stage import FilterConfig, run_filter


def write_keys(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def key(id, kind, link="t3_s"):
    return f"{link}\tt1_{id}\t{kind}"


def both(*ids):
    return [key(i, k) for i in ids for k in ("dep", "keep")]


def build(corpus, keys, preset="dialogpt", **kw):
    return run_build(BuildConfig(corpus=corpus.root, preset=preset, dialogpt_keys=keys, workers=1,
                                 **kw), progress=False)


def thread(reddit):
    # a -> b -> c -> d, and a -> e
    return [reddit.comment("a", "t3_s"), reddit.comment("b", "t1_a"), reddit.comment("c", "t1_b"),
            reddit.comment("d", "t1_c"), reddit.comment("e", "t1_a")]


def test_a_comment_without_its_dep_key_does_not_exist(reddit, tmp_path):
    corpus = reddit.corpus({"RC_2005-12.zst": thread(reddit)})
    keys = write_keys(tmp_path / "k.gz", both("a", "b", "d", "e") + [key("c", "keep")])
    report = build(corpus, keys)
    # c is not read: b becomes a leaf, d starts below a missing parent (alone: too short)
    assert reddit.ids(corpus) == [["a", "b"], ["a", "e"]]
    assert report.totals["unusable"] == {"no_dep_key": 1}


def test_keep_keys_choose_targets_and_a_kept_non_leaf_is_no_target(reddit, tmp_path):
    corpus = reddit.corpus({"RC_2005-12.zst": thread(reddit)})
    deps = [key(i, "dep") for i in "abcde"]
    keys = write_keys(tmp_path / "k.gz", deps + [key("b", "keep"), key("d", "keep")])
    build(corpus, keys)
    assert reddit.ids(corpus) == [["a", "b", "c", "d"]]  # b has a reply; e is not kept
    build(corpus, keys, targets="all")  # DialoGPT's --leaves_only 0: b is a target too
    assert reddit.ids(corpus) == [["a", "b"], ["a", "b", "c", "d"]]


def test_keys_apply_by_the_month_of_the_input_file(reddit, tmp_path):
    dec = [reddit.comment("a", "t3_s"), reddit.comment("b", "t1_a")]
    jan = [reddit.comment("x", "t3_s"), reddit.comment("y", "t1_x")]
    corpus = reddit.corpus({"RC_2005-12.zst": dec, "RC_2006-01.zst": jan})
    folder = tmp_path / "keys-full"
    write_keys(folder / "data" / "keys" / "2005-12.gz", both("a", "b", "y"))  # y: wrong month
    write_keys(folder / "data" / "keys" / "2006-01.gz", both("x") + [key("y", "dep")] +
               [key("zz", "keep"), key("zz", "dep"), "garbage line"])
    report = build(corpus, folder)
    assert reddit.ids(corpus) == [["a", "b"]]  # y is listed (keep) for December only
    assert report.totals["dialogpt_keys"]["months"] == {
        "2005-12": {"keep_keys": 3, "keep_absent": 1, "dep_keys": 3, "dep_absent": 1,
                    "bad_lines": 0, "discard_digests": None},
        "2006-01": {"keep_keys": 2, "keep_absent": 1, "dep_keys": 3, "dep_absent": 1,
                    "bad_lines": 1, "discard_digests": None}}
    stats = json.loads((corpus.root / "stats" / "build.json").read_text())
    assert stats["totals"]["dialogpt_keys"]["mode"] == "folder"
    assert json.loads((corpus.root / "config" / "build.json").read_text())["dialogpt_keys"] == \
        str(folder)


def test_discard_digests_weigh_listed_turns_zero(reddit, tmp_path):
    corpus = reddit.corpus({"RC_2005-12.zst": thread(reddit)})
    folder = tmp_path / "keys"
    write_keys(folder / "2005-12.gz", both("a", "b", "c", "d", "e"))
    listed = [hashlib.sha224(t.encode()).hexdigest() for t in ("text b", "text e")]
    write_keys(folder / "2005-12-o.gz", listed + ["not-a-digest"])
    build(corpus, folder)
    report = run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", workers=1,
                                     progress=False, split_fractions=(1.0, 0.0, 0.0)))
    out = io.BytesIO()
    export(corpus.root, fmt="dialogpt-tsv", split="train", out=out)
    assert sorted(out.getvalue().decode().splitlines()) == [
        "1.0 text a\t0.0 text e",
        "1.0 text a EOS 0.0 text b EOS 1.0 text c\t1.0 text d"]
    months = report.stats["dialogpt_keys"]["months"]
    assert months["2005-12"]["instances"] == 2
    assert months["2005-12"]["weight0_turns_by_digest"] == 2
    assert months["2005-12"]["discard_digests"] == 2
    assert "DialoGPT keys" in report.table()


def test_the_test_recipe_writes_no_weights_and_drops_one_token_targets(reddit, tmp_path):
    rows = [reddit.comment("a", "t3_s", "hello there"), reddit.comment("b", "t1_a", "yes indeed"),
            reddit.comment("c", "t1_b", "#tag ok")]  # normalised: "ok", one token
    corpus = reddit.corpus({"RC_2018-03.zst": rows})
    keys = write_keys(tmp_path / "keys-test.gz", both("a", "b", "c"))
    build(corpus, keys, preset="dialogpt-test")
    report = run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt-test", workers=1,
                                     progress=False, split_fractions=(1.0, 0.0, 0.0)))
    out = io.BytesIO()
    export(corpus.root, fmt="dialogpt-tsv", split="train", out=out)
    assert out.getvalue().decode().splitlines() == ["hello there\tyes indeed"]
    assert report.stats["dropped"] == {"empty_target": 1}  # [a] alone: too short in build


def test_the_stages_cannot_disagree_on_the_keys(reddit, tmp_path):
    corpus = reddit.corpus({"RC_2005-12.zst": thread(reddit)})
    keys = write_keys(tmp_path / "k.gz", both(*"abcde"))
    other = write_keys(tmp_path / "other.gz", both(*"abcde"))
    run_build(BuildConfig(corpus=corpus.root, preset="dialogpt", workers=1), progress=False)
    with pytest.raises(ConfigError, match="built without keys"):
        run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", dialogpt_keys=keys,
                                progress=False, workers=1))
    build(corpus, keys)
    with pytest.raises(ConfigError, match="differs from the keys the chains were built with"):
        run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", dialogpt_keys=other,
                                progress=False, workers=1))
    with pytest.raises(ConfigError, match="filter it with a DialoGPT preset"):
        run_filter(FilterConfig(corpus=corpus.root, preset="paper", progress=False, workers=1))
    write_keys(keys, both(*"abcd"))  # edited after the build
    with pytest.raises(ConfigError, match="changed since `rdial build` indexed it"):
        run_filter(FilterConfig(corpus=corpus.root, preset="dialogpt", progress=False, workers=1))
    report = build(corpus, keys)  # the build notices too: every bucket is rebuilt
    assert report.built == report.buckets and reddit.ids(corpus) == [["a", "b", "c", "d"]]


def test_usage_errors_name_the_flag(reddit, tmp_path):
    corpus = reddit.corpus({"RC_2005-12.zst": thread(reddit)})
    keys = write_keys(tmp_path / "k.gz", both("a"))
    with pytest.raises(ConfigError, match="--dialogpt-keys: needs a DialoGPT preset"):
        build(corpus, keys, preset="paper")
    with pytest.raises(ConfigError, match="--dialogpt-keys: no such file or folder"):
        build(corpus, tmp_path / "nope")
    folder = tmp_path / "keys"
    write_keys(folder / "2006-01.gz", both("a"))
    with pytest.raises(ConfigError, match="no keys for month 2005-12"):
        build(corpus, folder)


def test_key_lines_are_parsed_as_dialogpt_compares_them(tmp_path):
    path = write_keys(tmp_path / "k.gz", ["t3_a\tt1_b\tdep", "t3_a\tt1_c\tkeep  ", "t3_a\tc\tkeep",
                                          "t3_a\tt1_d", "t3_a\tt1_e\tother", "", "t3_b\tt1_f\tdep"])
    counts = LineCounts()
    rows = [r for b in key_batches(path, 8, counts) for r in b.to_pylist()]
    assert [(r["link_id"], r["id"], r["keep"]) for r in rows] == [
        ("t3_a", "b", False), ("t3_a", "c", True), ("t3_b", "f", False)]
    assert (counts.keep, counts.dep, counts.bad) == (1, 2, 3)
    assert KeySource(path).single
