"""rdial's own synthetic dumps (rdial synth) through extract: every era and format, exact counts
from the generator's manifest."""

from __future__ import annotations

import pytest

from rdial.extract.stage import ExtractConfig, run_extract


@pytest.mark.parametrize("era,fmt", [("mixed", "json"), ("2009", "bz2"), ("2024", "gz"), ("2019", "xz")])
def test_synth_dumps_extract_whole_with_exact_counts(rx, tmp_path, era, fmt):
    from rdial.synth import SynthConfig, generate_dumps

    manifest = generate_dumps(SynthConfig(out=tmp_path / "dumps", months=["2005-12", "2006-01"],
                                          comments=1500, era=era, format=fmt, manifest=True, seed=5))
    files = manifest.files
    report = run_extract(ExtractConfig(inputs=[tmp_path / "dumps"], out=tmp_path / "corpus",
                                       buckets=8, workers=1, progress=False))
    assert report.exit_code == 0
    got = {r.name: (r.stats["kind"], r.stats["lines"], r.stats["good"]) for r in report.results}
    expected = {name: ("comments" if info["kind"] == "RC" else "submissions", info["lines"], info["lines"])
                for name, info in files.items()}
    assert got == expected
    comments = rx.read_table(tmp_path / "corpus", "comments")
    assert comments.num_rows == 3000
    assert all(link.startswith("t3_") for link in comments.column("link_id").to_pylist())
    assert all(p[:3] in ("t1_", "t3_") for p in comments.column("parent_id").to_pylist())
    for month in ("2005-12", "2006-01"):  # repeated records are kept (build deduplicates)
        ids = [r["id"] for r in comments.select(["id", "source"]).to_pylist()
               if r["source"].startswith(f"RC_{month}")]
        assert len(ids) - len(set(ids)) == manifest.counts(month)["duplicates"]
