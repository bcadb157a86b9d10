"""Atomic publication: write under a temporary name in the same directory, then rename.

    with atomic_path(corpus / "chains" / "part-00003.parquet") as tmp:
        pq.write_table(table, tmp)          # readers never see a half-written file

A killed run leaves only `.tmp-*` files behind, which `sweep_temporaries` removes on the next run;
a published name always holds a complete file. Renames within one directory are atomic on POSIX.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from pathlib import Path

from rdial.errors import RdialError

TMP_PREFIX = ".tmp-"


def temporary_name(final: Path) -> Path:
    return final.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{final.name}")


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def explain_os_error(exc: OSError, path: Path) -> RdialError:
    """Turn a full disk or a read-only output into one clear line naming the path."""
    reasons = {errno.ENOSPC: "no space left on device", errno.EROFS: "read-only file system",
               errno.EACCES: "permission denied", errno.EDQUOT: "disk quota exceeded"}
    reason = reasons.get(exc.errno, exc.strerror or str(exc))
    return RdialError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def atomic_path(final: Path):
    """Yield a temporary path beside `final`; on success rename it to `final`, else delete it."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain_os_error(exc, final.parent) from exc
    tmp = temporary_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        _remove(tmp)
        raise explain_os_error(exc, final) from exc
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(final.parent)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data, *, sort_keys: bool = True, indent: int = 2) -> None:
    """Stats, configs, metadata and ledger entries: readable JSON, one trailing newline."""
    atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")


def replace_dir(tmp_dir: Path, final: Path) -> None:
    """Publish a fully written directory `tmp_dir` as `final`, replacing an older one.

    POSIX cannot swap two directories atomically; the old one is first renamed aside, so at every
    instant `final` is either absent, the old complete tree or the new complete tree.
    """
    final = Path(final)
    old = None
    if final.exists():
        old = temporary_name(final)
        os.replace(final, old)
    os.replace(tmp_dir, final)
    _fsync_dir(final.parent)
    if old is not None:
        _remove(old)


def sweep_temporaries(directory: Path) -> int:
    """Remove `.tmp-*` leftovers of a killed run under `directory`; returns how many."""
    directory = Path(directory)
    if not directory.exists():
        return 0
    found = [p for p in directory.rglob(f"{TMP_PREFIX}*")]
    for p in sorted(found, key=lambda p: len(p.parts), reverse=True):
        _remove(p)
    return len(found)
