"""The extract stage end to end: layout, formats, reruns, damaged and unwritable runs, CLI."""

from __future__ import annotations

import errno
import json
import os
import random

import pyarrow.parquet as pq
import pytest

from rdial.cli import main
from rdial.errors import ConfigError, InputError, RdialError
from rdial.extract.stage import ExtractConfig, run_extract


def extract(inputs, out, **kw):
    kw.setdefault("buckets", 8)
    kw.setdefault("workers", 1)
    cfg = ExtractConfig(inputs=list(inputs), out=out, progress=False, **kw)
    return run_extract(cfg)


@pytest.fixture
def month(rx):
    """Two threads of RC_2005-12 (t3_17863 -> bucket 0, t3_n49rw -> bucket 3 of 8)."""
    c = rx.comment
    return [c("c13", "t3_17863"), c("c14", "t3_17863", "t1_c13", body="a reply"),
            c("c15", "t3_n49rw"), c("c16", "t3_n49rw", "t1_c15", body="another")]


def test_layout_names_and_contents(rx, dumps, tmp_path, month):
    rc = rx.write_dump(dumps / "RC_2005-12.zst", month)
    rs = rx.write_dump(dumps / "RS_2005-12.zst", [rx.submission("17863"), rx.submission("n49rw")])
    out = tmp_path / "corpus"
    report = extract([dumps], out)
    assert [(r.name, r.status) for r in report.results] == [("RC_2005-12.zst", "done"),
                                                            ("RS_2005-12.zst", "done")]
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        ".rdial.lock", "_ledger/extract/RC_2005-12.zst.json", "_ledger/extract/RS_2005-12.zst.json",
        "comments/bucket=00000/RC_2005-12.zst.parquet", "comments/bucket=00003/RC_2005-12.zst.parquet",
        "config/extract.json", "corpus.json",
        "stats/extract.json", "stats/extract/RC_2005-12.zst.json", "stats/extract/RS_2005-12.zst.json",
        "submissions/bucket=00000/RS_2005-12.zst.parquet", "submissions/bucket=00003/RS_2005-12.zst.parquet",
    ]
    from rdial.schema import COMMENTS, SUBMISSIONS

    bucket0 = pq.read_table(out / "comments/bucket=00000/RC_2005-12.zst.parquet")
    assert bucket0.schema.equals(COMMENTS)
    assert bucket0.select(["id", "link_id", "parent_id", "source", "line"]).to_pylist() == [
        {"id": "c13", "link_id": "t3_17863", "parent_id": "t3_17863", "source": "RC_2005-12.zst", "line": 1},
        {"id": "c14", "link_id": "t3_17863", "parent_id": "t1_c13", "source": "RC_2005-12.zst", "line": 2}]
    assert pq.read_schema(out / "submissions/bucket=00003/RS_2005-12.zst.parquet").equals(SUBMISSIONS)
    assert pq.ParquetFile(out / "comments/bucket=00000/RC_2005-12.zst.parquet").metadata.row_group(0) \
        .column(0).compression == "ZSTD"
    stats = json.loads((out / "stats/extract/RC_2005-12.zst.json").read_text())
    assert {k: stats[k] for k in ("lines", "good", "blank", "quarantined_total", "bytes", "status")} == {
        "lines": 4, "good": 4, "blank": 0, "quarantined_total": 0, "bytes": rc.stat().st_size,
        "status": "done"}
    summary = json.loads((out / "stats/extract.json").read_text())
    assert summary["totals"] == {"lines": 6, "good": 6, "blank": 0, "quarantined_total": 0}
    config = json.loads((out / "config/extract.json").read_text())
    assert (config["buckets"], config["max_line_bytes"]) == (8, 1048576)
    assert json.loads((out / "corpus.json").read_text())["extract"] == {
        "inputs": ["RC_2005-12.zst", "RS_2005-12.zst"]}
    assert rs.exists()


def test_every_format_gives_the_same_rows(rx, dumps, tmp_path):
    lines = rx.many_comments(300, threads=40)
    for ext in ("zst", "bz2", "xz", "gz", "json"):
        rx.write_dump(dumps / f"RC_2005-12.{ext}", lines)
    report = extract([dumps], tmp_path / "corpus")
    assert report.exit_code == 0
    table = rx.read_table(tmp_path / "corpus")
    per_source = {}
    for row in table.to_pylist():
        per_source.setdefault(row.pop("source"), []).append(row)
    assert sorted(per_source) == ["RC_2005-12.bz2", "RC_2005-12.gz", "RC_2005-12.json",
                                  "RC_2005-12.xz", "RC_2005-12.zst"]
    first = per_source["RC_2005-12.zst"]
    assert len(first) == 300 and all(rows == first for rows in per_source.values())


def test_rerun_skips_finished_inputs_and_force_redoes_them(rx, dumps, tmp_path, month):
    rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    extract([dumps], out)
    target = out / "comments/bucket=00000/RC_2005-12.zst.parquet"
    before = target.stat().st_mtime_ns
    again = extract([dumps], out)
    assert [r.status for r in again.results] == ["skipped"]
    assert again.results[0].stats["good"] == 4  # the summary still counts skipped inputs
    assert target.stat().st_mtime_ns == before
    forced = extract([dumps], out, force=True)
    assert [r.status for r in forced.results] == ["done"]
    assert target.stat().st_mtime_ns != before


def test_a_changed_input_replaces_all_its_old_bucket_files(rx, dumps, tmp_path, month):
    path = rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    extract([path], out)
    assert sorted(p.parent.name for p in out.glob("comments/*/*.parquet")) == ["bucket=00000", "bucket=00003"]
    rx.write_dump(path, [rx.comment("c99", "t3_b")])  # thread b -> bucket 1 only
    report = extract([path], out)
    assert [r.status for r in report.results] == ["done"]
    assert sorted(p.parent.name for p in out.glob("comments/*/*.parquet")) == ["bucket=00001"]
    assert rx.read_table(out).column("id").to_pylist() == ["c99"]


def test_a_truncated_dump_keeps_lines_before_the_damage_and_fails_alone(rx, dumps, tmp_path, month):
    lines = rx.many_comments(30000)
    cut = rx.write_dump(dumps / "RC_2005-11.zst", lines)
    whole = cut.read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    report = extract([dumps], out)
    assert report.exit_code == 1
    assert report.result("RC_2005-12.zst").status == "done"
    failed = report.result("RC_2005-11.zst")
    assert failed.status == "failed"
    assert failed.message == (f"{cut.resolve()}: truncated zst data (the file ends inside a frame) at "
                              f"compressed byte offset {len(whole) // 2}; the lines before the damage were kept")
    import zstandard

    prefix = zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj().decompress(whole[: len(whole) // 2])
    complete = prefix.count(b"\n")
    assert 0 < complete < 30000
    kept = rx.read_table(out)
    kept_ids = [r["id"] for r in kept.to_pylist() if r["source"] == "RC_2005-11.zst"]
    assert kept_ids == [f"c{i:x}" for i in range(complete)]
    assert failed.stats["quarantined"] == ({"truncated": 1} if not prefix.endswith(b"\n") else {})
    stats = json.loads((out / "stats/extract/RC_2005-11.zst.json").read_text())
    assert (stats["status"], stats["good"]) == ("failed", complete)
    assert not (out / "_ledger/extract/RC_2005-11.zst.json").exists()
    again = extract([dumps], out)  # cron reruns: the damaged file is tried again, the good one skipped
    assert [(r.name, r.status) for r in again.results] == [("RC_2005-11.zst", "failed"),
                                                           ("RC_2005-12.zst", "skipped")]


def test_a_missing_input_stops_the_run_before_any_output(rx, dumps, tmp_path, month):
    good = rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    with pytest.raises(InputError, match=r"RC_2099-01.zst: no such file"):
        extract([good, dumps / "RC_2099-01.zst"], out)
    assert not out.exists()


@pytest.mark.parametrize("named", [True, False], ids=["named", "in-a-directory"])
def test_unreadable_dumps_are_failed_inputs_and_the_others_go_on(rx, dumps, tmp_path, month, named):
    good = rx.write_dump(dumps / "RC_2005-12.zst", month)
    (dumps / "RC_2006-01.zst").write_bytes(b"")
    (dumps / "RC_2006-02.zst").write_bytes(b"\x28\xb5\x2f")  # 3 bytes: not even the magic
    (dumps / "RS_2006-03.zst").write_bytes(bytes(random.Random(5).randrange(256) for _ in range(4096)))
    (dumps / "manifest.json").write_text('{"files": {}}')  # not named like a dump: a note
    bad = [dumps / n for n in ("RC_2006-01.zst", "RC_2006-02.zst", "RS_2006-03.zst")]
    report = extract([good, *bad] if named else [dumps], tmp_path / "corpus")
    assert sorted((r.name, r.status) for r in report.results) == [
        ("RC_2005-12.zst", "done"), ("RC_2006-01.zst", "failed"), ("RC_2006-02.zst", "failed"),
        ("RS_2006-03.zst", "failed")]
    assert report.exit_code == 1
    messages = {r.name: r.message for r in report.failed}
    assert messages["RC_2006-01.zst"] == f"{dumps}/RC_2006-01.zst: an empty file (0 bytes), not zst data"
    assert messages["RC_2006-02.zst"].startswith(f"{dumps}/RC_2006-02.zst: unknown format: the name "
                                                 "says zst but the file starts with 28 b5 2f")
    assert "unknown format: the name says zst" in messages["RS_2006-03.zst"]
    summary = json.loads((tmp_path / "corpus/stats/extract.json").read_text())
    assert summary["failed"] == ["RC_2006-01.zst", "RC_2006-02.zst", "RS_2006-03.zst"]
    assert summary["inputs"]["RC_2006-01.zst"]["status"] == "failed"
    assert rx.read_table(tmp_path / "corpus").num_rows == 4


def test_a_directory_named_like_a_dump_is_a_failed_input(rx, dumps, tmp_path, month, capsys):
    good = rx.write_dump(dumps / "RC_2005-12.zst", month)
    (tmp_path / "RC_2006-02.zst").mkdir()
    (tmp_path / "empty").mkdir()
    report = extract([good, tmp_path / "RC_2006-02.zst", tmp_path / "empty"], tmp_path / "corpus")
    assert [(r.name, r.status, r.message) for r in report.failed] == [
        ("RC_2006-02.zst", "failed",
         f"{tmp_path}/RC_2006-02.zst: a directory, not a dump file (and no dump inside it)")]
    assert main(["extract", str(tmp_path / "empty"), str(good), "--out", str(tmp_path / "c2"),
                 "--no-progress"]) == 0
    assert f"extract: {tmp_path}/empty: no dump files in this directory" in capsys.readouterr().err


def test_a_name_too_long_for_its_outputs_is_one_short_line(rx, dumps, tmp_path, month):
    good = rx.write_dump(dumps / "RC_2005-12.zst", month)
    long = rx.write_dump(dumps / ("RC_2006-01" + "x" * 235 + ".zst"), month)  # 249 bytes
    report = extract([dumps], tmp_path / "corpus")
    (failed,) = report.failed
    assert failed.name == long.name
    assert len(failed.message) < 300
    assert failed.message.endswith(": its name is 249 bytes, too long for the outputs named after "
                                   "it (this file system allows 255); rename it to at most 232 bytes")
    assert report.result("RC_2005-12.zst").status == "done"


def test_undecidable_kind_and_duplicate_names_and_bucket_changes_are_errors(rx, dumps, tmp_path, month):
    odd = rx.write_dump(dumps / "export.ndjson", [b'{"id": "x", "stuff": 1}'])
    with pytest.raises(InputError, match=r"export.ndjson: cannot tell comments from submissions"):
        extract([odd], tmp_path / "c1")
    assert extract([odd], tmp_path / "c1", kind="comments").result("export.ndjson").stats[
        "quarantined"] == {"missing_field:link_id": 1}
    a = rx.write_dump(dumps / "a" / "RC_2005-12.zst", month)
    b = rx.write_dump(dumps / "b" / "RC_2005-12.zst", month)
    with pytest.raises(ConfigError, match=r"share the file name 'RC_2005-12.zst'"):
        extract([a, b], tmp_path / "c2")
    extract([a], tmp_path / "c3", buckets=8)
    with pytest.raises(ConfigError, match=r"^--buckets: .* was created with 8 buckets"):
        extract([a], tmp_path / "c3", buckets=16)


def test_kind_is_sniffed_and_a_json_array_is_read(rx, dumps, tmp_path, month):
    (dumps / "thread.json").write_bytes(b"[\n" + b",\n".join(month) + b"\n]\n")
    (dumps / "posts.ndjson").write_bytes(rx.submission("17863") + b"\n")
    (dumps / "LICENSE").write_text("not a dump")
    (dumps / "manifest.json").write_text('{\n  "files": {}\n}\n')  # what rdial synth writes beside dumps
    report = extract([dumps], tmp_path / "corpus")
    assert sorted((r.name, r.stats["kind"], r.stats["good"]) for r in report.results) == [
        ("posts.ndjson", "submissions", 1), ("thread.json", "comments", 4)]
    rows = rx.read_table(tmp_path / "corpus").select(["id", "line"]).to_pylist()
    assert rows == [{"id": "c13", "line": 1}, {"id": "c14", "line": 2}, {"id": "c15", "line": 3},
                    {"id": "c16", "line": 4}]


def test_an_unwritable_output_is_one_error_and_publishes_nothing(rx, dumps, tmp_path, month, monkeypatch):
    path = rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    real_replace = os.replace

    def read_only(src, dst):
        if "comments" in str(dst):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(RdialError, match=r"^cannot write .*bucket=0000\d/RC_2005-12.zst.parquet: read-only file system$"):
        extract([path], out)
    monkeypatch.undo()
    assert list(out.glob("comments/*/*")) == [] and not (out / "_staging").exists()
    assert not (out / "_ledger/extract/RC_2005-12.zst.json").exists()


def test_a_full_disk_while_writing_is_one_error(rx, dumps, tmp_path, month, monkeypatch):
    path = rx.write_dump(dumps / "RC_2005-12.zst", month)

    def full(self, table, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(RdialError, match=r"^cannot write .*RC_2005-12.zst.parquet: no space left on device$"):
        extract([path], tmp_path / "corpus")
    monkeypatch.undo()
    assert list((tmp_path / "corpus").glob("comments/*/*")) == []


def test_a_read_only_directory_stops_before_anything(rx, dumps, tmp_path, month):
    path = rx.write_dump(dumps / "RC_2005-12.zst", month)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RdialError, match=r"^cannot write .*file/corpus"):
        extract([path], blocker / "corpus")


def test_process_pool_gives_the_same_tables_as_one_worker(rx, dumps, tmp_path):
    for i in range(3):
        rx.write_dump(dumps / f"RC_2005-1{i}.zst", rx.many_comments(500 * (i + 1), start=i * 10000))
    extract([dumps], tmp_path / "one", workers=1)
    report = extract([dumps], tmp_path / "pool", workers=2)
    assert [r.name for r in report.results] == ["RC_2005-12.zst", "RC_2005-11.zst", "RC_2005-10.zst"]
    assert rx.read_table(tmp_path / "pool").equals(rx.read_table(tmp_path / "one"))


def test_any_thread_count_gives_byte_identical_bucket_files(rx, dumps, tmp_path, monkeypatch):
    import rdial.extract.readers as readers
    import rdial.extract.stream as stream

    # 3,000 lines (~690 KB) in blocks of ~4 KiB: 166 blocks parsed ahead, finished in input order
    monkeypatch.setattr(readers, "PLAIN_STEP", 4096)
    monkeypatch.setattr(stream, "DEFAULT_BLOCK", 4096)
    rx.write_dump(dumps / "RC_2005-12.ndjson", rx.many_comments(3000, threads=40))
    blocks = []
    for threads in (1, 2, 5):
        report = extract([dumps], tmp_path / f"t{threads}", threads=threads, buffer_mb=1)
        blocks.append(report.results[0].stats["fast_blocks"])
    assert blocks == [166, 166, 166]  # 4 KiB chunks, each block cut at its last newline
    files = sorted(p.relative_to(tmp_path / "t1") for p in (tmp_path / "t1" / "comments").rglob("*.parquet"))
    assert len(files) == 8
    for threads in (2, 5):
        assert all((tmp_path / f"t{threads}" / f).read_bytes() == (tmp_path / "t1" / f).read_bytes()
                   for f in files)
    assert rx.read_table(tmp_path / "t5").num_rows == 3000


def test_threads_default_shares_the_cores_among_inputs_running_at_once(tmp_path, monkeypatch):
    import rdial.extract.plan as stage

    monkeypatch.setattr(stage, "default_workers", lambda: 16)
    cfg = ExtractConfig(inputs=[tmp_path], out=tmp_path / "c", workers=4, progress=False)
    assert stage.threads_per_input(cfg, running=1) == 16  # one dump: every core
    assert stage.threads_per_input(cfg, running=2) == 8
    assert stage.threads_per_input(cfg, running=9) == 4   # 4 workers at a time
    monkeypatch.setattr(stage, "default_workers", lambda: 2)
    assert stage.threads_per_input(cfg, running=4) == 2   # never fewer than 2
    assert stage.threads_per_input(ExtractConfig(inputs=[tmp_path], out=tmp_path, threads=3), 9) == 3
    assert stage.threads_per_input(ExtractConfig(inputs=[tmp_path], out=tmp_path, executor="ray"), 1) == 2
    with pytest.raises(ConfigError, match="--threads"):
        ExtractConfig(inputs=[tmp_path], out=tmp_path, threads=0)


def test_cli_exit_codes(rx, dumps, tmp_path, month, capsys):
    good = rx.write_dump(dumps / "RC_2005-12.zst", month)
    out = tmp_path / "corpus"
    assert main(["extract", str(good), "--out", str(out), "--buckets", "8", "--workers", "1",
                 "--no-progress"]) == 0
    assert "1 inputs (1 done, 0 skipped, 0 failed): 4 lines, 4 rows" in capsys.readouterr().out
    cut = rx.write_dump(dumps / "RC_2005-11.zst", rx.many_comments(5000))
    cut.write_bytes(cut.read_bytes()[:-100])
    assert main(["extract", str(dumps), "--out", str(out), "--no-progress"]) == 1
    captured = capsys.readouterr().out
    assert "rdial extract: RC_2005-11.zst: " in captured and "truncated zst data" in captured
    assert main(["extract", str(dumps / "nope.zst"), "--out", str(out)]) == 2
    assert "rdial: error: " in capsys.readouterr().err
    assert main(["extract", str(good), "--out", str(out), "--workers", "0"]) == 2
    assert "rdial: error: --workers: must be at least 1" in capsys.readouterr().err
