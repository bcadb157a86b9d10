"""A corpus directory: where each stage reads and writes, and its one metadata file.

    rdial extract RC_2005-12.zst --out corpus && ls corpus

    corpus/
      corpus.json                          {"format": "rdial-corpus", "version": 1, "buckets": N}
      comments/bucket=00017/RC_2005-12.zst.parquet one file per (input, bucket); absent if empty
      submissions/bucket=00017/RS_2005-12.zst.parquet
      quarantine/RC_2005-12.zst.jsonl      bad lines, verbatim, with line number and reason
      stats/extract/RC_2005-12.zst.json    per-input stats; stats/<stage>.json per stage run
      chains/bucket=00017.parquet          one file per bucket (build)
      shards/{train,valid,test}/part-NNNNN.parquet                   (filter)
      _ledger/<stage>/<task>.json          finished tasks and their input fingerprints

The bucket count is fixed when the corpus is created: every month of a thread must land in the
same bucket, so changing it later would split threads. Unless --buckets says, extract chooses it
from the data (buckets_for_inputs: 8 for a sample, 1024 for a full 2017 month).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from rdial.errors import ConfigError, CorpusLockedError, RdialError
from rdial.lockfile import held_lock
from rdial.publish import atomic_write_json

METADATA = "corpus.json"
FORMAT = "rdial-corpus"
LOCK = ".rdial.lock"
# A full 2017 month holds ~80M comments; 1024 buckets keep one bucket-month near 80k comments
# (tens of MB in memory), so a build worker holding a bucket across a year stays around 1 GB.
DEFAULT_BUCKETS = 1024  # the most buckets_for_inputs chooses; --buckets may give more
MIN_BUCKETS = 8         # a handful: build and filter still spread over 8 workers
# Compressed input per bucket per month. The real 2005-06 months hold 110-133 bytes of zst
# per comment (RC_2005-12.zst: 143,122 B / 1,075; RC_2006-01.zst: 403,903 B / 3,666), so
# 8 MiB is ~63k-76k comments, the bucket-month size DEFAULT_BUCKETS gives a 2017 month.
BUCKET_INPUT_BYTES = 8 << 20


def buckets_for_inputs(month_bytes: dict[str, int]) -> int:
    """The bucket count for a new corpus, from its first inputs: {month: input bytes}.

    The largest month's compressed bytes / BUCKET_INPUT_BYTES, rounded up to a power of two,
    within [MIN_BUCKETS, DEFAULT_BUCKETS]. Two real 2005-06 months (547 KB) -> 8 buckets;
    a 2M-line synthetic month (893 MB) -> 128; a 2017 month (~80M comments) -> 1024. The count
    is fixed once the corpus exists, and a corpus grows month by month: the rule sizes buckets
    for months like the first ones. Creating a small corpus that will take full months later?
    Give `--buckets 1024` at creation.
    """
    largest = max(month_bytes.values(), default=0)
    need = max(1, -(-largest // BUCKET_INPUT_BYTES))
    return min(DEFAULT_BUCKETS, max(MIN_BUCKETS, 1 << (need - 1).bit_length()))


@dataclass(frozen=True)
class Corpus:
    root: Path
    buckets: int

    @classmethod
    def open(cls, root: Path) -> "Corpus":
        root = Path(root)
        meta_path = root / METADATA
        if not meta_path.exists():
            raise RdialError(f"{root} is not an rdial corpus (no {METADATA}); "
                             f"create one with `rdial extract DUMPS --out {root}`")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT:
            raise RdialError(f"{meta_path}: not an rdial corpus metadata file")
        return cls(root=root, buckets=int(meta["buckets"]))

    @classmethod
    def open_or_create(cls, root: Path, buckets: int | None) -> "Corpus":
        """Open `root`, or create it with `buckets` (default DEFAULT_BUCKETS; extract passes
        buckets_for_inputs of its inputs)."""
        root = Path(root)
        if (root / METADATA).exists():
            corpus = cls.open(root)
            if buckets is not None and buckets != corpus.buckets:
                raise ConfigError(f"--buckets: {root} was created with {corpus.buckets} buckets; "
                                  f"a corpus keeps its bucket count (drop --buckets, or use a new --out)")
            return corpus
        corpus = cls(root=root, buckets=buckets or DEFAULT_BUCKETS)
        corpus.write_metadata({})
        return corpus

    def metadata(self) -> dict:
        path = self.root / METADATA
        return json.loads(path.read_text()) if path.exists() else {}

    def write_metadata(self, updates: dict) -> None:
        """Merge `updates` into corpus.json (e.g. what each stage last produced)."""
        meta = self.metadata()
        meta.update(updates)
        meta.update({"format": FORMAT, "version": 1, "buckets": self.buckets})
        atomic_write_json(self.root / METADATA, meta)

    @contextlib.contextmanager
    def lock(self, stage: str):
        """Hold the corpus for one writing stage; a second run (an overlapping cron job) fails fast.

        An flock on CORPUS/.rdial.lock: the kernel drops it when the process dies, so a killed
        run never leaves the corpus locked. Worker processes do not take it; only the parent.
        """
        busy = lambda holder: CorpusLockedError(  # noqa: E731
            f"{self.root} is in use by {holder}; wait for it to finish "
            f"(a killed run releases it at once)")
        with held_lock(self.root / LOCK, f"`rdial {stage}` (pid {os.getpid()})", busy):
            yield self

    # --- layout -------------------------------------------------------------------------------
    def table_dir(self, table: str) -> Path:
        return self.root / table

    def bucket_dir(self, table: str, bucket: int) -> Path:
        return self.root / table / f"bucket={bucket:05d}"

    def bucket_files(self, table: str, bucket: int) -> list[Path]:
        """Published Parquet files of one bucket of `comments` or `submissions`, sorted."""
        d = self.bucket_dir(table, bucket)
        return sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".")) if d.exists() else []

    def nonempty_buckets(self, table: str) -> list[int]:
        d = self.table_dir(table)
        if not d.exists():
            return []
        return sorted(int(p.name.split("=", 1)[1]) for p in d.glob("bucket=*")
                      if p.is_dir() and any(p.glob("*.parquet")))

    @property
    def chains_dir(self) -> Path:
        return self.root / "chains"

    def chains_file(self, bucket: int) -> Path:
        return self.chains_dir / f"bucket={bucket:05d}.parquet"

    @property
    def shards_dir(self) -> Path:
        return self.root / "shards"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def stats_dir(self, stage: str) -> Path:
        return self.root / "stats" / stage
