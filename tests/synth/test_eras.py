"""Schema drift: key counts, `created_utc` types and escaping per era, as in the real dumps."""

import json

import pytest

from rdial.synth import SynthConfig, synth_comments, synth_lines

# era -> (comment keys, comment keys when the author is gone, submission keys, created_utc type)
ERA_SHAPES = {
    "2005": (18, 18, 56, int),
    "2009": (21, 21, 39, str),
    "2019": (47, 41, 76, int),
    "2024": (71, 66, 108, float),
}


@pytest.mark.parametrize("era", sorted(ERA_SHAPES))
def test_key_counts_and_created_type_per_era(era):
    n_keys, n_gone, n_sub, created_type = ERA_SHAPES[era]
    lines, m = synth_lines(SynthConfig(out="unused", months=["2010-06"], comments=600, era=era))
    comments = [json.loads(x) for x in lines["RC_2010-06.zst"]]
    assert {len(c) for c in comments if c["author"] != "[deleted]"} == {n_keys}
    assert {len(c) for c in comments if c["author"] == "[deleted]"} == {n_gone}
    assert {type(c["created_utc"]) for c in comments} == {created_type}
    subs = [json.loads(x) for x in lines["RS_2010-06.zst"]]
    assert {len(s) for s in subs if s["author"] != "[deleted]"} == {n_sub}
    assert {type(s["created_utc"]) for s in subs} == {created_type}
    # June 2010 whatever the era: times inside the month
    stamps = [int(float(c["created_utc"])) for c in comments]
    assert 1275350400 <= min(stamps) and max(stamps) < 1277942400


def test_ids_prefixes_like_pushshift():
    rows = synth_comments(400, month="2012-03", seed=1)
    assert all(not r["id"].startswith("t1_") and r["name"] == "t1_" + r["id"] for r in rows)
    assert all(r["link_id"].startswith("t3_") for r in rows)
    assert {r["parent_id"][:3] for r in rows} == {"t1_", "t3_"}


def test_auto_era_follows_the_month():
    assert len(synth_comments(5, month="2005-12")[0]) == 18
    assert isinstance(synth_comments(5, month="2014-02")[0]["created_utc"], str)
    assert len(synth_comments(5, month="2019-10", deleted_rate=0, removed_rate=0)[0]) == 47
    assert "_meta" in synth_comments(5, month="2024-01", deleted_rate=0, removed_rate=0)[0]


def test_mixed_era_mixes_every_shape_in_one_file():
    lines, _ = synth_lines(SynthConfig(out="unused", months=["2015-01"], comments=800, era="mixed",
                                       deleted_rate=0, removed_rate=0, bot_rate=0))
    rows = [json.loads(x) for x in lines["RC_2015-01.zst"]]
    shapes = {(len(r), type(r["created_utc"])) for r in rows if r["author"] != "[deleted]"}
    assert shapes == {(18, int), (21, str), (47, int), (71, float)}


def test_escaping_per_era():
    def raw(era):
        lines, _ = synth_lines(SynthConfig(out="unused", months=["2019-10"], comments=1500, era=era))
        return b"\n".join(lines["RC_2019-10.zst"])

    r2019, r2024 = raw("2019"), raw("2024")
    assert r2019.isascii() and b"\\u" in r2019 and b"\\/r\\/" in r2019      # like AskMen 2019
    assert not r2024.isascii() and b'"permalink":"/r/' in r2024             # raw UTF-8, plain /
    assert json.loads(r2019.split(b"\n")[0])["permalink"].startswith("/r/")


def test_deleted_author_records_lose_the_author_keys_in_2024():
    rows = synth_comments(1500, month="2024-01", seed=2)
    gone = [r for r in rows if r["body"] == "[removed]"]
    assert gone and all(r["author"] == "[deleted]" and "author_fullname" not in r
                        and r["collapsed"] is True for r in gone)
    assert all(r["author_fullname"].startswith("t2_") for r in rows if r["author"] != "[deleted]")


def test_synth_comments_is_deterministic_and_sized():
    a = synth_comments(300, seed=9)
    assert a == synth_comments(300, seed=9)
    assert a != synth_comments(300, seed=10)
    assert len(a) == 300
    assert len({r["id"] for r in a}) == 297                  # 1% duplicates
    assert len({r["id"] for r in synth_comments(300, seed=9, duplicate_rate=0.0)}) == 300


@pytest.mark.parametrize("era", sorted(ERA_SHAPES))
def test_formatted_lines_equal_the_era_encoder_output(era):
    """Comment lines are %-formatted for speed; they must be byte-equal to encoding the record."""
    from rdial.synth.eras import ERAS

    lines, _ = synth_lines(SynthConfig(out="unused", months=["2021-03"], comments=3000, era=era,
                                       bot_rate=0.05))
    rc = lines["RC_2021-03.zst"]
    assert all(ERAS[era].encode(json.loads(line)) == line for line in rc)
    bodies = [json.loads(line)["body"] for line in rc]
    assert any('"' in b for b in bodies) and any("\n" in b for b in bodies)
    assert any(not b.isascii() for b in bodies) and any("\\" in b for b in bodies)
