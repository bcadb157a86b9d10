"""bench/bench_scale.py's whole code path on a tiny size (2,000 comments a month), so the bench
cannot rot; the figures themselves come from the full-size run (docs/scale.md).

    python -m pytest tests/bench/test_bench_scale.py -q -p no:cacheprovider
"""

import importlib.util
import json
from pathlib import Path

import pytest
import zstandard

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "bench_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        data = zstandard.ZstdDecompressor(max_window_size=2 ** 31).stream_reader(fh).read()
    return data.count(b"\n")


@pytest.mark.slow  # 12 stage processes: ~20 CPU s
def test_bench_scale_runs_every_part_and_checks_the_monthly_job(tmp_path, capsys):
    bench = load_bench()
    out = tmp_path / "result.json"
    result = bench.main(["--data-dir", str(tmp_path / "data"), "--comments", "2000",
                         "--buckets-per-million", "1000", "--workers", "1",
                         "--parts", "full", "monthly", "--json", str(out)])
    dumps = tmp_path / "data" / "synth-2000-seed16"
    lines = {m: count_lines(dumps / f"RC_{m}.zst") + count_lines(dumps / f"RS_{m}.zst")
             for m in bench.MONTHS}
    assert count_lines(dumps / "RC_2012-11.zst") == 2000
    full = result["full"]
    assert full["buckets"] == 2
    stages = full["stages"]
    assert stages["extract"]["units"] == lines["2012-11"] + lines["2012-12"]
    work = tmp_path / "data" / "work" / "full"
    build_stats = json.loads((work / "corpus2" / "stats" / "build.json").read_text())
    assert stages["build"]["units"] == build_stats["totals"]["comments"]
    assert stages["filter"]["units"] == build_stats["totals"]["chains"]
    tsv = (work / "export2.tsv").read_bytes()
    assert stages["export"]["units"] == tsv.count(b"\n")
    assert stages["export"]["files_added"] == 1
    assert stages["export"]["bytes_added_mb"] == round(len(tsv) / 1e6, 1)
    # every input, bucket file, stats and ledger file the stages wrote, counted from outside
    corpus_files = sum(1 for p in (work / "corpus2").rglob("*") if p.is_file())
    assert sum(stages[s]["files_added"] for s in ("extract", "build", "filter")) == corpus_files
    for stage in bench.STAGES:
        assert stages[stage]["exit"] == 0
        assert stages[stage]["cpu_s"] > 0
        assert stages[stage]["peak_rss_mb"] > 50  # a Python process with pyarrow loaded
    assert full["disk"]["comments"]["files"] == 2 * 2  # 2 buckets x 2 months

    monthly = result["monthly"]
    # the incremental run extracts only the new month; the old inputs are up to date
    assert result["incremental"]["extract"]["units"] == lines["2013-01"]
    assert result["scratch"]["extract"]["units"] == sum(lines.values())
    compared = sum(1 for sub in bench.COMPARED for p in (work / "corpus3" / sub).rglob("*")
                   if p.is_file()) + 1
    assert monthly["files_compared"] == compared
    assert monthly["identical"] is True and monthly["differ"] == []
    assert json.loads(out.read_text())["monthly"]["identical"] is True
    printed = capsys.readouterr().out
    assert "monthly job (extract + build + filter)" in printed and "byte-identical" in printed


def test_digests_name_the_file_that_differs(tmp_path):
    bench = load_bench()
    for side in ("a", "b"):
        (tmp_path / side / "chains").mkdir(parents=True)
        (tmp_path / side / "chains" / "bucket=00000.parquet").write_bytes(b"same")
        (tmp_path / side / "shards" / "train").mkdir(parents=True)
        (tmp_path / side / f"{side}.tsv").write_bytes(b"x\ty\n")
    (tmp_path / "a" / "shards" / "train" / "part-00000.parquet").write_bytes(b"one")
    (tmp_path / "b" / "shards" / "train" / "part-00000.parquet").write_bytes(b"two")
    a = bench.digests(tmp_path / "a", tmp_path / "a" / "a.tsv")
    b = bench.digests(tmp_path / "b", tmp_path / "b" / "b.tsv")
    assert sorted(k for k in a if a[k] != b[k]) == ["shards/train/part-00000.parquet"]
    assert sorted(a) == ["chains/bucket=00000.parquet", "export.tsv", "shards/train/part-00000.parquet"]
