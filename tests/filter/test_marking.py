"""Step 3 of the filter in tasks (rdial/filter/marking.py): the same shards, rejects and stats
for any --workers, with and without the verdict cache, and as one process streaming the buckets
in order writes them; a bucket failing in step 3 is left out like one failing in step 1; a
shard file that cannot be written publishes nothing; a killed run leaves the old shards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from rdial import schema
from rdial.errors import InputError, RdialError
from rdial.filter import marking, verdicts
from rdial.filter.shards import ParquetShardWriter
from rdial.filter.stage import FilterConfig, run_filter
from tests.filter.synthetic import chain_row as chain
from tests.filter.synthetic import chains_table, random_chains, write_chains_corpus

ROOT = Path(__file__).resolve().parents[2]
# bland fires on a small corpus only with a low count; the copies below make duplicates
CONFIG = 'base = "rdial"\nbland_min_count = 2\nbland_fraction = 0.5\n'
RUN_ONLY = {"seconds", "seconds_per_step", "peak_rss_mb", "chains_judged", "chains_reused", "trigram_totals"}
LAYOUT = dict(shard_rows=90, row_group_rows=25, keep_rejects=True)


def chains_with_copies(n: int, seed: int) -> pa.Table:
    """`n` random chains and 40 copies of some of them in other threads (other buckets)."""
    table = pl.from_arrow(random_chains(n, seed=seed))
    copies = table[::n // 40][:40].with_columns(pl.format("t3_copy{}", pl.int_range(pl.len())).alias("link_id"))
    return pl.concat([table, copies]).to_arrow().cast(schema.CHAINS)


@pytest.fixture
def corpus(tmp_path) -> Path:
    write_chains_corpus(tmp_path / "c", chains_with_copies(1200, seed=7), buckets=5)
    (tmp_path / "bland.toml").write_text(CONFIG)
    return tmp_path / "c"


def cfg(root: Path, **kw) -> FilterConfig:
    kw = {"workers": 1, "progress": False, "config": root.parent / "bland.toml", **LAYOUT, **kw}
    return FilterConfig(corpus=root, **kw)


def outputs(root: Path) -> dict:
    """Every shard and reject file's bytes, and the stats less what only timed the run."""
    files = {str(p.relative_to(root)): p.read_bytes()
             for d in ("shards", "rejects") for p in sorted((root / d).rglob("*")) if p.is_file()}
    stats = json.loads((root / "stats" / "filter.json").read_text())
    return {"files": files, "stats": {k: v for k, v in stats.items() if k not in RUN_ONLY}}


def test_any_workers_and_the_verdict_cache_give_the_same_bytes(corpus):
    report = run_filter(cfg(corpus, force=True))
    first = outputs(corpus)
    assert report.exit_code == 0 and report.stats["chains_in"] == 1240
    # a copy and its original share their per-chain verdict: both dropped by a local rule, or
    # one of the two (the later in corpus order) dropped as a duplicate
    rejects = pl.read_parquet(corpus / "rejects")
    local = rejects.filter(pl.col("link_id").str.starts_with("t3_copy")
                           & ~pl.col("reason").is_in(["duplicate", "bland"])).height
    assert 0 < local < 40 and report.stats["dropped"]["duplicate"] == 40 - local
    assert report.stats["dropped"]["bland"] > 0
    assert set(report.stats["seconds_per_step"]) == {"judge", "corpus_counts", "corpus_rules",
                                                     "write_shards", "publish"}
    assert set(report.stats["peak_rss_mb"]) == {"judge", "corpus_counts", "corpus_rules", "write_shards"}
    for workers in (2, 3):
        run_filter(cfg(corpus, workers=workers, force=True))
        assert outputs(corpus) == first, workers
    shutil.rmtree(corpus / "_ledger" / "filter")  # not up to date, so it runs: every verdict cached
    report = run_filter(cfg(corpus, workers=2))
    assert report.stats["chains_reused"] == 1240 and outputs(corpus) == first
    assert report.stats["trigram_totals"] == "updated"  # from the kept totals, nothing recounted


def test_shards_are_the_buckets_streamed_in_order(corpus):
    """What step 3 wrote before it ran in tasks: per bucket in order, its kept chains of each
    split streamed through one ParquetShardWriter (and the dropped ones into rejects/)."""
    report = run_filter(cfg(corpus))
    stats = report.stats
    for split in schema.SPLITS:
        files = sorted((corpus / "shards" / split).glob("part-*.parquet"))
        rows = pl.concat([pl.read_parquet(f) for f in files])
        assert rows.height == stats["splits"][split]["out"] and len(files) == stats["files"][split]
        assert len(files) == max(1, -(-rows.height // 90))
        buckets = schema.thread_buckets(rows.to_arrow()["link_id"], 5).tolist()
        assert buckets == sorted(buckets)  # corpus order: bucket by bucket
        with ParquetShardWriter(corpus.parent / "stream" / split, schema.SHARDS, shard_rows=90,
                                row_group_rows=25) as w:
            for b in sorted(set(buckets)):
                w.write(rows.filter(pl.Series(buckets) == b).to_arrow())
        assert [f.read_bytes() for f in files] == [f.read_bytes() for f in w.files]
    rejects = pl.read_parquet(corpus / "rejects")
    assert rejects.height == stats["chains_in"] - stats["chains_out"]
    assert rejects.group_by("reason").len().sort("reason").rows() == sorted(stats["dropped"].items())


def test_rows_cross_bucket_boundaries_in_files_of_shard_rows(tmp_path):
    rows = [chain("what is the best game to play", f"the answer number {i} is here", link=f"t3_{i}")
            for i in range(9)]
    table = chains_table(rows)
    write_chains_corpus(tmp_path / "c", table, buckets=3)
    report = run_filter(FilterConfig(corpus=tmp_path / "c", workers=2, progress=False, shard_rows=4,
                                     row_group_rows=3, split_fractions=(1.0, 0.0, 0.0)))
    assert report.stats["chains_out"] == 9 and report.stats["files"] == {"train": 3, "valid": 1, "test": 1}
    files = sorted((tmp_path / "c/shards/train").glob("part-*.parquet"))
    got = [pl.read_parquet(f)["link_id"].to_list() for f in files]
    buckets = schema.thread_buckets(table["link_id"], 3).tolist()
    order = [f"t3_{i}" for _, i in sorted((b, i) for i, b in enumerate(buckets))]
    assert got == [order[0:4], order[4:8], order[8:9]]
    assert [pl.read_parquet(f).height for f in sorted((tmp_path / "c/shards/valid").glob("*"))] == [0]


def test_a_bucket_failing_in_step_3_is_left_out_and_the_rest_published(corpus, monkeypatch):
    run_filter(cfg(corpus))
    full = {s: pl.read_parquet(corpus / "shards" / s) for s in schema.SPLITS}
    real = verdicts.read_step1

    def broken(path):
        if path.name == "bucket=00002.parquet":
            raise InputError(f"{path}: cannot read verdicts")
        return real(path)

    monkeypatch.setattr(verdicts, "read_step1", broken)
    report = run_filter(cfg(corpus, force=True))
    assert report.exit_code == 1 and report.stats["failed_buckets"] == [2]
    assert [r.name for r in report.failed] == ["bucket=00002"]
    assert "bucket=00002.parquet: cannot read verdicts" in report.failed[0].message
    for split in schema.SPLITS:  # exactly the full run's rows, less bucket 2's
        rows = pl.read_parquet(corpus / "shards" / split)
        others = full[split].filter(pl.Series(schema.thread_buckets(full[split].to_arrow()["link_id"], 5)) != 2)
        assert rows.height == others.height and rows.equals(others)
    assert report.stats["chains_out"] == sum(
        pl.read_parquet(corpus / "shards" / s).height for s in schema.SPLITS)
    monkeypatch.setattr(verdicts, "read_step1", real)
    again = run_filter(cfg(corpus))  # not recorded as done: the next run redoes it whole
    assert again.exit_code == 0 and again.stats["failed_buckets"] == []
    assert all(pl.read_parquet(corpus / "shards" / s).equals(full[s]) for s in schema.SPLITS)


def test_a_shard_file_that_cannot_be_written_publishes_nothing(corpus, monkeypatch):
    run_filter(cfg(corpus))
    before = outputs(corpus)
    real = marking.write_shard_file

    def full_disk(path, *args, **kw):
        if path.name == "part-00001.parquet" and path.parent.name == "train":
            raise OSError(28, "No space left on device")
        return real(path, *args, **kw)

    monkeypatch.setattr(marking, "write_shard_file", full_disk)
    with pytest.raises(RdialError, match="part-00001.parquet: OSError: .*No space left on device.*left as it was"):
        run_filter(cfg(corpus, force=True))
    assert outputs(corpus) == before
    assert not list(corpus.glob(".tmp-*")) and not (corpus / "_work").exists()


def filter_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "rdial", "filter", str(root), "--workers", "1", "--force",
            "--no-progress", "--config", str(root.parent / "bland.toml"), "--shard-rows", "90",
            "--row-group-rows", "25", "--keep-rejects"]


def in_marking(root: Path) -> bool:
    return (root / "_work" / "filter" / "staged").exists()


def in_shard_writing(root: Path) -> bool:
    return any(root.glob(".tmp-*-shards/train/part-*.parquet"))


@pytest.mark.parametrize("point", [in_marking, in_shard_writing])
def test_a_run_killed_in_step_3_leaves_the_old_shards_and_a_rerun_the_same(corpus, point):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run_filter(cfg(corpus, force=True))  # the command's settings, in this process
    before = outputs(corpus)
    proc = subprocess.Popen(filter_command(corpus), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not point(corpus):
            if proc.poll() is not None:
                pytest.fail("the run finished before the kill point; the test inputs are too small")
            if time.monotonic() > deadline:
                pytest.fail("kill point never reached")
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, no cleanup
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert outputs(corpus) == before  # the old shards, rejects and stats, untouched
    subprocess.run(filter_command(corpus), check=True, cwd=ROOT, env=env, capture_output=True)
    assert outputs(corpus) == before
    assert not list(corpus.glob(".tmp-*")) and not (corpus / "_work").exists()


def _staged(path: Path, values: list[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"v": pa.array(values, pa.int64())})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def test_each_staged_file_leaves_the_disk_once_the_files_that_read_it_are_written(tmp_path):
    a = _staged(tmp_path / "staged/bucket=00000/shards.arrow", [0, 1, 2, 3, 4])
    b = _staged(tmp_path / "staged/bucket=00001/shards.arrow", [5, 6, 7])
    target = pa.schema([("v", pa.int64())])
    out = tmp_path / "out"
    out.mkdir()
    # file 0 reads a; file 1 the rest of a and the start of b; file 2 the rest of b
    tasks = [marking.ShardFileTask(out / f"{i}.parquet", pieces, target, 2) for i, pieces in
             enumerate([[(a, 0, 3)], [(a, 3, 5), (b, 0, 1)], [(b, 1, 3)]])]
    linked = marking.link_pieces(tasks)
    assert not a.exists() and not b.exists()  # only the tasks' links hold the rows now
    assert [[(p.name, s, e) for p, s, e in t.pieces] for t in linked] == [
        [("shards.file00000.arrow", 0, 3)],
        [("shards.file00001.arrow", 3, 5), ("shards.file00001.arrow", 0, 1)],
        [("shards.file00002.arrow", 1, 3)]]
    assert [p.parent.name for p, _, _ in linked[1].pieces] == ["bucket=00000", "bucket=00001"]

    def left() -> list[str]:
        return sorted(str(p.relative_to(tmp_path / "staged")) for p in (tmp_path / "staged").rglob("*.arrow"))

    assert left() == ["bucket=00000/shards.file00000.arrow", "bucket=00000/shards.file00001.arrow",
                      "bucket=00001/shards.file00001.arrow", "bucket=00001/shards.file00002.arrow"]
    assert [marking.write_shard(t)["rows"] for t in linked[:1]] == [3]
    assert left() == ["bucket=00000/shards.file00001.arrow", "bucket=00001/shards.file00001.arrow",
                      "bucket=00001/shards.file00002.arrow"]
    assert marking.write_shard(linked[1])["rows"] == 3
    assert left() == ["bucket=00001/shards.file00002.arrow"]  # a is gone from the disk
    assert marking.write_shard(linked[2])["rows"] == 2
    assert left() == []
    assert [pl.read_parquet(out / f"{i}.parquet")["v"].to_list() for i in range(3)] == \
        [[0, 1, 2], [3, 4, 5], [6, 7]]


def test_without_hard_links_the_tasks_read_the_staged_files_as_they_are(tmp_path, monkeypatch):
    a = _staged(tmp_path / "staged/bucket=00000/shards.arrow", [0, 1, 2])
    tasks = [marking.ShardFileTask(tmp_path / f"{i}.parquet", [(a, i, i + 2)], pa.schema([("v", pa.int64())]), 2)
             for i in range(2)]
    made = []
    real = os.link

    def link(src, dst):
        if made:
            raise OSError(38, "Function not implemented")  # the second link fails
        made.append(dst)
        real(src, dst)

    monkeypatch.setattr(marking.os, "link", link)
    assert marking.link_pieces(tasks) == tasks
    assert sorted(p.name for p in a.parent.iterdir()) == ["shards.arrow"]  # the first link undone
    assert [marking.write_shard(t)["rows"] for t in tasks] == [2, 2]
    assert a.exists()
    assert [pl.read_parquet(tmp_path / f"{i}.parquet")["v"].to_list() for i in range(2)] == [[0, 1], [1, 2]]
