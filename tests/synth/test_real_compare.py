"""Synthetic lines against the real samples: same key sets and value types per era, same frame."""

import io
import json

import pytest
import zstandard

from rdial.synth import SynthConfig, generate_dumps, synth_lines

pytestmark = pytest.mark.real


def _zst_records(path, limit=None):
    dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
    with open(path, "rb") as fh:
        text = io.TextIOWrapper(dctx.stream_reader(fh), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(limit or 10**9), text)]


def _synth(era, kind, month="2010-06"):
    lines, _ = synth_lines(SynthConfig(out="unused", months=[month], comments=300, era=era,
                                       deleted_rate=0, removed_rate=0, bot_rate=0))
    return [json.loads(x) for x in lines[f"{kind}_{month}.zst"]]


def _same_shape(real: dict, fake: dict):
    assert set(fake) == set(real)
    for k, v in real.items():
        if v is not None and fake[k] is not None:
            assert type(fake[k]) is type(v), k


def test_2005_comments_match_rc_2005_12(real_data):
    real = _zst_records(real_data / "pushshift" / "RC_2005-12.zst", limit=50)
    fake = _synth("2005", "RC", month="2005-12")
    assert {len(r) for r in real} == {len(f) for f in fake} == {18}
    _same_shape(real[0], fake[0])
    assert fake[0]["subreddit_id"] == "t5_6" or fake[0]["subreddit"] != "reddit.com"


@pytest.mark.parametrize("era, n_comment, n_sub", [("2009", 21, 39), ("2024", 71, 108)])
def test_eras_match_pushshift_importer_lines(real_data, era, n_comment, n_sub):
    eras = real_data / "pushshift_eras"
    comments = [json.loads(x) for x in (eras / "test_comments.json").read_text().splitlines()]
    subs = [json.loads(x) for x in (eras / "test_submissions.json").read_text().splitlines()]
    real_c = next(r for r in comments if len(r) == n_comment and r["author"] != "[deleted]")
    real_s = next(r for r in subs if len(r) == n_sub)
    _same_shape(real_c, _synth(era, "RC")[0])
    _same_shape(real_s, _synth(era, "RS")[0])


def test_2019_submissions_match_askmen(real_data):
    real = _zst_records(real_data / "pushshift_subreddit" / "AskMen_submissions_2019-10.zst",
                        limit=400)
    fake = _synth("2019", "RS", month="2019-10")
    key_sets = {frozenset(r) for r in real}
    assert frozenset(fake[0]) in key_sets
    assert len(fake[0]) >= 70


def test_frame_window_equals_the_real_dumps(real_data, tmp_path):
    generate_dumps(SynthConfig(out=tmp_path, comments=20))
    ours = zstandard.get_frame_parameters((tmp_path / "RC_2005-12.zst").read_bytes()[:32])
    theirs = zstandard.get_frame_parameters(
        (real_data / "pushshift" / "RC_2005-12.zst").read_bytes()[:32])
    assert ours.window_size == theirs.window_size == 2**31
