import multiprocessing

import pytest

from rdial.corpus import Corpus
from rdial.errors import ConfigError, RdialError


def _hold_lock_then_report(root, ready, release):
    with Corpus.open(root).lock("extract"):
        ready.set()
        release.wait(30)


def test_a_second_writer_fails_fast_and_a_finished_one_releases(tmp_path):
    corpus = Corpus.open_or_create(tmp_path / "c", buckets=4)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock_then_report, args=(corpus.root, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(RdialError, match=rf"^{tmp_path / 'c'} is in use by `rdial extract` "
                                             rf"\(pid {holder.pid}\); wait for it to finish"):
            with corpus.lock("build"):
                pass
    finally:
        release.set()
        holder.join(30)
    with corpus.lock("build"):  # released when the holder ended
        with pytest.raises(RdialError, match="is in use by `rdial build`"):
            with Corpus.open(corpus.root).lock("filter"):
                pass


def test_bucket_count_is_fixed_at_creation(tmp_path):
    Corpus.open_or_create(tmp_path / "c", buckets=8)
    assert Corpus.open(tmp_path / "c").buckets == 8
    assert Corpus.open_or_create(tmp_path / "c", None).buckets == 8
    with pytest.raises(ConfigError, match="^--buckets: .* was created with 8 buckets"):
        Corpus.open_or_create(tmp_path / "c", 16)
    with pytest.raises(RdialError, match="is not an rdial corpus"):
        Corpus.open(tmp_path / "nothing")


def test_the_bucket_count_of_a_new_corpus_follows_its_largest_month():
    from rdial.corpus import buckets_for_inputs

    # the two real 2005-06 months (143,122 + 403,903 bytes), a 2M-line synthetic month, a
    # ~9 GB 2017 month, nothing
    assert buckets_for_inputs({"2005-12": 143_122, "2006-01": 403_903}) == 8
    assert buckets_for_inputs({"2019-10": 893_000_000}) == 128
    assert buckets_for_inputs({"2017-01": 9_000_000_000}) == 1024
    assert buckets_for_inputs({}) == 8
    assert buckets_for_inputs({"a": 8 << 20, "b": 1}) == 8 and buckets_for_inputs({"a": 9 << 23}) == 16


def test_extract_chooses_the_bucket_count_once_and_keeps_it(tmp_path, capsys):
    from rdial.cli import main

    dump = tmp_path / "RC_2005-12.ndjson"
    dump.write_text('{"id": "a", "link_id": "t3_x", "parent_id": "t3_x", "body": "hi there"}\n')
    assert main(["extract", str(dump), "--out", str(tmp_path / "c"), "--no-progress",
                 "--workers", "1"]) == 0
    assert "extract: new corpus with 8 thread buckets" in capsys.readouterr().err
    assert Corpus.open(tmp_path / "c").buckets == 8
    assert main(["extract", str(dump), "--out", str(tmp_path / "c"), "--buckets", "16"]) == 2
    assert "was created with 8 buckets" in capsys.readouterr().err
