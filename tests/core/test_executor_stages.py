"""extract -> build -> filter with --executor ray give the files --executor local gives.

    python -m pytest -q tests/core/test_executor_stages.py     (skips where Ray is not installed)

Same synthetic dump, two corpora: one run with the local executor in-process, one on the
session's 2-CPU local Ray. Every Parquet file (bucket tables, chains, shards) must be
byte-identical and every count the same; a bucket that cannot be read fails the same way on
both, with exit status 1, and the other buckets are still built.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rdial.build.stage import BuildConfig, run_build
from rdial.extract.stage import ExtractConfig, run_extract
from rdial.filter.stage import FilterConfig, run_filter


def parquet_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def without_seconds(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if not k.startswith("seconds")}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """(dump directory, lines per file from the generator's manifest)."""
    from rdial.synth import SynthConfig, generate_dumps

    out = tmp_path_factory.mktemp("dumps")
    manifest = generate_dumps(SynthConfig(out=out / "dumps", months=["2005-12", "2006-01"],
                                          comments=1500, seed=11, manifest=True))
    return out / "dumps", {name: info["lines"] for name, info in manifest.files.items()}


@pytest.fixture(scope="module")
def corpora(ray_session, synth, tmp_path_factory):
    """{"local": corpus, "ray": corpus} after extract, build and filter, with the reports."""
    runs = {}
    for executor, workers in (("local", 1), ("ray", 2)):
        root = tmp_path_factory.mktemp(executor) / "corpus"
        extract = run_extract(ExtractConfig(inputs=[synth[0]], out=root, buckets=8, workers=workers,
                                            executor=executor, progress=False))
        build = run_build(BuildConfig(corpus=root, workers=workers, executor=executor), progress=False)
        filtered = run_filter(FilterConfig(corpus=root, workers=workers, executor=executor,
                                           progress=False))
        runs[executor] = (root, extract, build, filtered)
    return runs


def test_ray_extract_writes_the_same_bucket_files(corpora, synth):
    (local, local_report, _, _), (ray, ray_report, _, _) = corpora["local"], corpora["ray"]
    lines = synth[1]
    assert ray_report.exit_code == 0
    assert sorted(lines) == ["RC_2005-12.zst", "RC_2006-01.zst", "RS_2005-12.zst", "RS_2006-01.zst"]
    assert lines["RC_2005-12.zst"] == lines["RC_2006-01.zst"] == 1500
    assert {r.name: (r.status, r.stats["lines"], r.stats["good"]) for r in ray_report.results} == \
        {name: ("done", n, n) for name, n in lines.items()}
    assert [without_seconds(r.stats) for r in ray_report.results] == \
        [without_seconds(r.stats) for r in local_report.results]
    local_files = parquet_files(local / "comments") | parquet_files(local / "submissions")
    ray_files = parquet_files(ray / "comments") | parquet_files(ray / "submissions")
    assert len(ray_files) == 32 and ray_files == local_files


def test_ray_build_writes_the_same_chains(corpora):
    (local, _, local_report, _), (ray, _, ray_report, _) = corpora["local"], corpora["ray"]
    assert (ray_report.exit_code, len(ray_report.done), ray_report.failed) == (0, 8, [])
    assert ray_report.totals == local_report.totals
    assert len(parquet_files(ray / "chains")) == 8
    assert parquet_files(ray / "chains") == parquet_files(local / "chains")


def test_ray_filter_writes_the_same_shards(corpora):
    (local, _, _, local_report), (ray, _, _, ray_report) = corpora["local"], corpora["ray"]
    assert ray_report.exit_code == 0 and ray_report.failed == []
    assert ray_report.summary().splitlines()[1:] == local_report.summary().splitlines()[1:]
    assert sorted(parquet_files(ray / "shards")) == \
        ["test/part-00000.parquet", "train/part-00000.parquet", "valid/part-00000.parquet"]
    assert parquet_files(ray / "shards") == parquet_files(local / "shards")


def test_ray_build_reports_a_broken_bucket_like_local_and_builds_the_rest(corpora):
    reports = {}
    for executor, workers in (("local", 1), ("ray", 2)):
        root = corpora[executor][0]
        broken = sorted((root / "comments" / "bucket=00003").glob("*.parquet"))[0]
        broken.write_bytes(b"not parquet")
        reports[executor] = run_build(BuildConfig(corpus=root, workers=workers, executor=executor,
                                                  force=True), progress=False)
    ray = reports["ray"]
    assert (ray.exit_code, len(ray.done), [r.name for r in ray.failed]) == (1, 7, ["bucket=00003"])
    why = ("RC_2005-12.zst.parquet: cannot read Parquet file: parquet: File out of specification: "
           "A Parquet file must contain a header and footer with at least 12 bytes")
    for executor, report in reports.items():
        assert [(r.name, r.message) for r in report.failed] == [("bucket=00003", f"{corpora[executor][0]}/comments/bucket=00003/{why}")]
