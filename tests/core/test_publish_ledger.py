import os

import pytest

from rdial.errors import RdialError
from rdial.ledger import Ledger, combine_fingerprints, file_fingerprint
from rdial.publish import atomic_path, atomic_write_text, replace_dir, sweep_temporaries


def test_atomic_path_publishes_only_on_success(tmp_path):
    final = tmp_path / "out" / "a.txt"
    with pytest.raises(ValueError):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            raise ValueError("killed mid-write")
    assert not final.exists()
    assert list((tmp_path / "out").iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.write_text("whole")
    assert final.read_text() == "whole"


def test_read_only_output_is_one_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores mode bits; simulate with a file in the way
            os.chmod(ro, 0o700)
            (ro / "sub").write_text("a file where a directory must go")
            target = ro / "sub" / "x.txt"
        else:
            target = ro / "x.txt"
        with pytest.raises(RdialError, match=r"^cannot write .*x\.txt|^cannot write .*sub"):
            atomic_write_text(target, "data")
    finally:
        os.chmod(ro, 0o700)


def test_replace_dir_and_sweep(tmp_path):
    final = tmp_path / "shards"
    final.mkdir()
    (final / "old").write_text("1")
    new = tmp_path / ".tmp-abc-shards"
    new.mkdir()
    (new / "new").write_text("2")
    replace_dir(new, final)
    assert sorted(p.name for p in final.iterdir()) == ["new"]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".tmp-123-part.parquet").write_text("partial")
    assert sweep_temporaries(tmp_path) == 1
    assert not (tmp_path / "x" / ".tmp-123-part.parquet").exists()


def test_ledger_records_and_detects_changes(tmp_path):
    dump = tmp_path / "RC_2005-12.json"
    dump.write_text('{"id": "a"}\n')
    fp = file_fingerprint(dump)
    ledger = Ledger(tmp_path / "corpus", "extract")
    assert not ledger.is_done("RC_2005-12.json", fp)
    ledger.record("RC_2005-12.json", fp, outputs=["b", "a"], stats={"lines": 1})
    assert ledger.is_done("RC_2005-12.json", fp)
    assert ledger.get("RC_2005-12.json")["outputs"] == ["a", "b"]
    dump.write_text('{"id": "a"}\n{"id": "b"}\n')
    assert not ledger.is_done("RC_2005-12.json", file_fingerprint(dump))
    assert list(ledger.entries()) == ["RC_2005-12.json"]
    ledger.forget("RC_2005-12.json")
    assert ledger.entries() == {}


def test_combined_fingerprint_ignores_order():
    assert combine_fingerprints({"a": "1", "b": "2"}) == combine_fingerprints({"b": "2", "a": "1"})
    assert combine_fingerprints(["x", "y"]) != combine_fingerprints(["x", "z"])
