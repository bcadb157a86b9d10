"""The run ledger: which tasks of a stage finished, on which inputs.

    rdial extract dumps/ --out corpus      # a rerun skips every input recorded here unchanged

Layout: `CORPUS/_ledger/<stage>/<key>.json`, one small file per finished task, written atomically
after the task's outputs are published. A task killed before its entry is written simply runs
again; since tasks publish by rename and overwrite their own outputs, the rerun ends in the same
state as an uninterrupted run. One file per task means parallel workers never contend on a lock.

An entry: {"key", "fingerprint", "outputs": [relative paths], "stats": {...}, "finished": unix}.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from rdial.publish import atomic_write_json

_SAFE = re.compile(r"[^A-Za-z0-9._=-]")
_EDGE = 1 << 20  # bytes hashed at each end of a file for its fingerprint


def file_fingerprint(path: Path) -> str:
    """Cheap but change-sensitive: size, mtime and a hash of the first and last MiB.

    Hashing whole dumps (tens of GB) on every cron run would cost more than the work it skips.
    """
    path = Path(path)
    st = path.stat()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(_EDGE))
        if st.st_size > 2 * _EDGE:
            fh.seek(-_EDGE, os.SEEK_END)
            h.update(fh.read(_EDGE))
    return h.hexdigest()


def combine_fingerprints(parts: dict[str, str] | list[str]) -> str:
    """One fingerprint for a task over several inputs (e.g. all files of a bucket)."""
    items = sorted(parts.items()) if isinstance(parts, dict) else sorted(parts)
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(items).encode())
    return h.hexdigest()


class Ledger:
    def __init__(self, corpus_root: Path, stage: str):
        self.dir = Path(corpus_root) / "_ledger" / stage

    def _path(self, key: str) -> Path:
        return self.dir / (_SAFE.sub("_", key) + ".json")

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_done(self, key: str, fingerprint: str) -> bool:
        entry = self.get(key)
        return entry is not None and entry.get("fingerprint") == fingerprint

    def record(self, key: str, fingerprint: str, outputs: list[str] | None = None,
               stats: dict | None = None, extra: dict | None = None) -> None:
        """`extra`: what else a stage keeps about the task (build: its inputs' id ranges)."""
        entry = {**(extra or {}), "key": key, "fingerprint": fingerprint,
                 "outputs": sorted(outputs or []), "stats": stats or {},
                 "finished": int(time.time())}
        atomic_write_json(self._path(key), entry, indent=1)

    def replace(self, entry: dict) -> None:
        """Write back an entry as read, changed (`rdial prune` marks inputs it removed)."""
        atomic_write_json(self._path(entry["key"]), entry, indent=1)

    def forget(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def entries(self) -> dict[str, dict]:
        out = {}
        if self.dir.exists():
            for p in sorted(self.dir.glob("*.json")):
                try:
                    entry = json.loads(p.read_text())
                except json.JSONDecodeError:
                    continue
                out[entry["key"]] = entry
        return out
