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
