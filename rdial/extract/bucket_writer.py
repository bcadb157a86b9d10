"""Rows of one input -> one Parquet file per non-empty thread bucket, published by rename.

    w = BucketedParquetWriter(corpus, "comments", "RC_2005-12.zst.parquet", staging_dir, schema=COMMENTS)
    w.write(table, column_buckets(table["link_id"], corpus.buckets))
    w.close(); w.publish()        # -> comments/bucket=00017/RC_2005-12.zst.parquet, ...

Why it is built like this (measured): a Parquet row group costs ~1 ms of fixed work per bucket
(13 column chunks, a zstd context each), whatever its size. Appending every block's rows to
1024 bucket files as row groups made writing the most expensive part of extract. So rows are
grouped by bucket as they arrive (one stable sort per block, zero-copy slices) and held in
memory; each bucket file is written once, as one row group, when the input ends. An input
bigger than `buffer_bytes` spills: the held rows are appended to per-bucket Arrow IPC streams
(cheap appends, in a background thread while parsing goes on), and at the end each bucket reads
its stream back and is written once. Memory stays around `buffer_bytes` for a dump of any size.
The final writes run on two threads (Arrow releases the GIL while encoding and compressing).

Files are staged in one directory per input and table
(`CORPUS/_staging/extract/<input>/comments/NNNNN-<input>.parquet`); `publish` renames
each into place (same file system, so each rename is atomic) and deletes this input's files in
buckets it no longer produces, so a changed input never leaves stale rows behind.
"""

from __future__ import annotations

import glob
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from rdial.corpus import Corpus
from rdial.publish import explain_os_error

DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024  # held rows; at most twice this while a spill runs
# Measured on bucket files of a synthetic month: dictionary pages and column statistics cost
# ~35% of the write CPU and saved nothing after zstd (106 KiB either way), and the readers of
# these files (build) read whole buckets, so neither is written.
WRITE_OPTIONS = dict(compression="zstd", use_dictionary=False, write_statistics=False)
ROW_GROUP_ROWS = 1 << 20


class BucketedParquetWriter:
    def __init__(self, corpus: Corpus, table: str, file_name: str, staging: Path, *,
                 schema: pa.Schema, buffer_bytes: int = DEFAULT_BUFFER_BYTES, threads: int = 2):
        self.corpus, self.table, self.file_name = corpus, table, file_name
        self.staging, self.schema, self.buffer_bytes = Path(staging), schema, buffer_bytes
        self.threads = threads
        self._held: dict[int, list[pa.Table]] = {}
        self._held_bytes = 0
        self._spills: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        self._spilling: Future | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spill")
        self._written: list[int] = []
        self.rows = 0
        self.spills = 0

    def staged_path(self, bucket: int) -> Path:
        # Flat: one directory, not one per bucket (creating and removing 1024 directories
        # cost seconds on the shared disk).
        return self.staging / self.table / f"{bucket:05d}-{self.file_name}"

    def spill_path(self, bucket: int) -> Path:
        return self.staging / "spill" / self.table / f"{bucket:05d}.arrows"

    def final_path(self, bucket: int) -> Path:
        return self.corpus.bucket_dir(self.table, bucket) / self.file_name

    def write(self, table: pa.Table, buckets: np.ndarray) -> None:
        """Add `table`'s rows; `buckets[i]` is row i's bucket. Rows keep their order per bucket."""
        if table.num_rows == 0:
            return
        order = np.argsort(buckets, kind="stable")
        ordered = table.take(pa.array(order))  # one contiguous copy per block, then slices
        present, starts = np.unique(buckets[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for bucket, start, end in zip(present.tolist(), starts.tolist(), ends.tolist()):
            self._held.setdefault(bucket, []).append(ordered.slice(start, end - start))
        self.rows += table.num_rows
        self._held_bytes += ordered.nbytes
        if self._held_bytes >= self.buffer_bytes:
            self._spill()

    def _spill(self) -> None:
        self._wait()
        held, self._held, self._held_bytes = self._held, {}, 0
        self.spills += 1
        self._spilling = self._pool.submit(self._append_spills, held)

    def _wait(self) -> None:
        if self._spilling is not None:
            spilling, self._spilling = self._spilling, None
            spilling.result()  # re-raises a write error here, in the caller

    def _append_spills(self, held: dict[int, list[pa.Table]]) -> None:
        for bucket in sorted(held):
            writer = self._spills.get(bucket)
            path = self.spill_path(bucket)
            try:
                if writer is None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = self._spills[bucket] = pa.ipc.new_stream(str(path), self.schema)
                for part in held[bucket]:
                    writer.write_table(part)
            except OSError as exc:
                raise explain_os_error(exc, path) from exc

    def close(self) -> None:
        """Write every bucket file, complete (all but the renames)."""
        try:
            self._wait()
            for writer in self._spills.values():
                writer.close()
            buckets = sorted(set(self._held) | set(self._spills))
            self.staged_path(0).parent.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="parquet") as pool:
                list(pool.map(self._write_bucket, buckets))
            self._written = buckets
            self._held, self._held_bytes = {}, 0
        finally:
            self._pool.shutdown(wait=True)

    def _write_bucket(self, bucket: int) -> None:
        parts = []
        if bucket in self._spills:
            with pa.ipc.open_stream(str(self.spill_path(bucket))) as spilled:
                parts.append(spilled.read_all())
        parts.extend(self._held.get(bucket, []))
        rows = pa.concat_tables(parts).combine_chunks()  # one slice per block: 15% less write CPU
        path = self.staged_path(bucket)
        try:
            pq.write_table(rows, path, row_group_size=ROW_GROUP_ROWS, **WRITE_OPTIONS)
        except OSError as exc:
            raise explain_os_error(exc, path) from exc
        if bucket in self._spills:
            self.spill_path(bucket).unlink()

    def abort(self) -> None:
        """Stop without publishing (the caller removes the staging directory)."""
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the run is failing already
            pass
        for writer in self._spills.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass
        self._pool.shutdown(wait=True)

    @property
    def buckets(self) -> list[int]:
        """Buckets with a file (after `close`)."""
        return list(self._written)

    def publish(self) -> list[str]:
        """Rename staged files into the corpus; remove this input's files from other buckets.
        Returns the published paths relative to the corpus root."""
        published = []
        for bucket in self.buckets:
            final = self.final_path(bucket)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staged_path(bucket), final)
            except OSError as exc:
                raise explain_os_error(exc, final) from exc
            published.append(str(final.relative_to(self.corpus.root)))
        keep = set(self.buckets)
        pattern = str(self.corpus.table_dir(self.table) / "bucket=*" / glob.escape(self.file_name))
        for stale in glob.glob(pattern):
            bucket = int(Path(stale).parent.name.split("=", 1)[1])
            if bucket not in keep:
                os.unlink(stale)
        return published
