"""Every format readable by its standard decompressor; the zst frame declares a 2 GiB window;
same config -> same bytes."""

import bz2
import gzip
import hashlib
import lzma

import pytest
import zstandard

from rdial.synth import SynthConfig, generate_dumps
from rdial.synth.writers import open_dump_writer


def _digest(out):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def run(name, seed):
        cfg = SynthConfig(out=tmp_path / name, months=["2005-12", "2006-01"], comments=1500,
                          seed=seed, manifest=True)
        generate_dumps(cfg)
        return _digest(tmp_path / name)

    a, b, c = run("a", 5), run("b", 5), run("c", 6)
    assert sorted(a) == ["RC_2005-12.zst", "RC_2006-01.zst", "RS_2005-12.zst", "RS_2006-01.zst",
                         "manifest.json"]
    assert a["RC_2005-12.zst"] == b["RC_2005-12.zst"]
    assert {k: v for k, v in a.items() if k != "manifest.json"} == \
        {k: v for k, v in b.items() if k != "manifest.json"}
    for name in ("RC_2005-12.zst", "RC_2006-01.zst", "RS_2005-12.zst", "RS_2006-01.zst"):
        assert a[name] != c[name]


def test_manifest_identical_apart_from_out_dir(tmp_path):
    import json

    docs = []
    for name in ("x", "y"):
        generate_dumps(SynthConfig(out=tmp_path / name, comments=300, seed=2, manifest=True))
        doc = json.loads((tmp_path / name / "manifest.json").read_text())
        assert doc["config"].pop("out") == str(tmp_path / name)
        docs.append(doc)
    assert docs[0] == docs[1]


OPENERS = {
    "zst": lambda p: zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(open(p, "rb")),
    "bz2": lambda p: bz2.open(p, "rb"),
    "xz": lambda p: lzma.open(p, "rb"),
    "gz": lambda p: gzip.open(p, "rb"),
    "json": lambda p: open(p, "rb"),
}


@pytest.mark.parametrize("fmt", ["zst", "bz2", "xz", "gz", "json"])
def test_every_format_reads_back_with_its_standard_decompressor(tmp_path, fmt):
    m = generate_dumps(SynthConfig(out=tmp_path, comments=700, format=fmt, seed=1, level=1))
    assert sorted(m.files) == [f"RC_2005-12.{fmt}", f"RS_2005-12.{fmt}"]
    for name, entry in m.files.items():
        with OPENERS[fmt](tmp_path / name) as fh:
            data = fh.read()
        assert data.endswith(b"\n")
        assert data.count(b"\n") == entry["lines"]
        assert len(data) == entry["uncompressed_bytes"]
    assert m.lines("RC_2005-12." + fmt) == 700
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_formats_hold_the_same_lines(tmp_path):
    plain = generate_dumps(SynthConfig(out=tmp_path / "j", comments=400, format="json", seed=4))
    generate_dumps(SynthConfig(out=tmp_path / "z", comments=400, format="gz", seed=4))
    assert plain.lines("RC_2005-12.json") == 400
    with gzip.open(tmp_path / "z" / "RC_2005-12.gz", "rb") as fh:
        assert fh.read() == (tmp_path / "j" / "RC_2005-12.json").read_bytes()


def test_zst_declares_a_2gib_window_and_a_checksum_like_the_real_dumps(tmp_path):
    generate_dumps(SynthConfig(out=tmp_path, comments=200, seed=3))
    blob = (tmp_path / "RC_2005-12.zst").read_bytes()
    assert zstandard.get_frame_parameters(blob).window_size == 2**31
    assert zstandard.get_frame_parameters(blob).has_checksum
    with pytest.raises(zstandard.ZstdError, match="Frame requires too much memory"):
        zstandard.ZstdDecompressor().stream_reader(open(tmp_path / "RC_2005-12.zst", "rb")).read()
    with zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(
            open(tmp_path / "RC_2005-12.zst", "rb")) as fh:
        assert fh.read().count(b"\n") == 200


def test_failed_write_publishes_nothing(tmp_path):
    target = tmp_path / "RC_2005-12.zst"
    with pytest.raises(RuntimeError):
        with open_dump_writer(target, "zst") as w:
            w.write_lines([b'{"id":"a"}'])
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_worker_processes_give_the_same_bytes(tmp_path, monkeypatch):
    import rdial.synth.dumps as dumps

    monkeypatch.setattr(dumps, "PARALLEL_MIN_LINES", 0)    # use the pool even for small months
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        m = generate_dumps(SynthConfig(out=out, months=["2005-12", "2006-01"], comments=25_000,
                                       seed=8, workers=workers, level=1, manifest=True))
        assert m.lines("RC_2006-01.zst") == 25_000
        digests.append((_digest(out), m.months))
    assert digests[0][0].keys() == digests[1][0].keys()
    for name in digests[0][0]:
        if name != "manifest.json":
            assert digests[0][0][name] == digests[1][0][name], name
    assert digests[0][1] == digests[1][1]
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("n", [0, 1, 5])
def test_tiny_months_have_exactly_n_lines(tmp_path, n):
    m = generate_dumps(SynthConfig(out=tmp_path, months=["2005-12", "2006-01"], comments=n,
                                   format="json", manifest=True))
    for month in ("2005-12", "2006-01"):
        data = (tmp_path / f"RC_{month}.json").read_bytes()
        assert data.count(b"\n") == m.lines(f"RC_{month}.json") == n
        assert m.counts(month)["duplicates"] == 0


def test_rerun_after_a_kill_sweeps_leftovers_and_writes_the_same_bytes(tmp_path):
    cfg = dict(months=["2005-12"], comments=300, seed=1)
    generate_dumps(SynthConfig(out=tmp_path / "clean", **cfg))
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / ".tmp-0123456789ab-RC_2005-12.zst").write_bytes(b"half a frame")
    (killed / "RC_2005-12.zst").write_bytes(b"stale file from another config")
    generate_dumps(SynthConfig(out=killed, **cfg))
    assert _digest(killed) == _digest(tmp_path / "clean")
