"""Shared synthetic dumps for the synth tests: generated once per session, read back plainly."""

import json
from pathlib import Path

import pytest
import zstandard

from rdial.synth import SynthConfig, generate_dumps

MONTHS = ["2005-12", "2006-01"]


def read_zst_lines(path: Path) -> list[bytes]:
    """Plain zstandard, the way any script would read a real Pushshift dump."""
    dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
    with open(path, "rb") as fh:
        data = dctx.stream_reader(fh).read()
    assert data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in read_zst_lines(path)]


@pytest.fixture(scope="session")
def two_months(tmp_path_factory):
    """(out dir, manifest, {file name: [records]}) for 2 months x 4000 comments, seed 11."""
    out = tmp_path_factory.mktemp("synth2")
    cfg = SynthConfig(out=out, months=MONTHS, comments=4000, seed=11, manifest=True)
    manifest = generate_dumps(cfg)
    records = {name: read_records(out / name) for name in manifest.files}
    return out, manifest, records
