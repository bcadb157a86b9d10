"""Rows of one input -> one Parquet file per non-empty thread bucket, published by rename.

    w = BucketedParquetWriter(corpus, "comments", "RC_2005-12.zst.parquet", staging_dir, schema=COMMENTS)
    w.write(table, thread_buckets(table["link_id"], corpus.buckets))
    w.close(); w.publish()        # -> comments/bucket=00017/RC_2005-12.zst.parquet, ...

Why it is built like this (measured): a Parquet row group costs ~1 ms of fixed work per bucket
(13 column chunks, a zstd context each), whatever its size. Appending every block's rows to
1024 bucket files as row groups made writing the most expensive part of extract. So rows are
held in memory as they arrive and each bucket file is written once, as one row group, when the
input ends. An input bigger than `buffer_bytes` spills: a background thread groups the held
rows by bucket (one stable sort and one gather per buffer) and writes them to one spill file,
bucket after bucket, as Arrow IPC record batches whose byte ranges it remembers; at the end each
bucket reads back its ranges and is written once. Memory stays around `buffer_bytes` for a dump
of any size. The final writes run on two threads (Arrow releases the GIL while encoding and
compressing).

Files are staged in one directory per input and table
(`CORPUS/_staging/extract/<input>/comments/NNNNN-<input>.parquet`); `publish` renames
each into place (same file system, so each rename is atomic) and deletes this input's files in
buckets it no longer produces, so a changed input never leaves stale rows behind.
"""

from __future__ import annotations

import glob
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
import pyarrow.parquet as pq

from rdial.corpus import Corpus
from rdial.publish import explain_os_error

# Held rows. While a spill groups one buffer (and its gathered copy) the next one fills: up to
# three buffers at the peak, on top of a --long=31 dump's 2 GiB zstd window. 32 MiB instead of
# 64 took ~0.1 GiB off the peak RSS of a 2019-era dump at the same CPU (more, smaller spills).
DEFAULT_BUFFER_BYTES = 32 * 1024 * 1024
# Measured on bucket files of a synthetic month: dictionary pages and column statistics cost
# ~35% of the write CPU and saved nothing after zstd (106 KiB either way), and the readers of
# these files (build) read whole buckets, so neither is written.
WRITE_OPTIONS = dict(compression="zstd", use_dictionary=False, write_statistics=False)
ROW_GROUP_ROWS = 1 << 20
OPEN_SPILLS = 256  # spill files kept open while the buckets are written (the rest: per read)


class BucketedParquetWriter:
    def __init__(self, corpus: Corpus, table: str, file_name: str, staging: Path, *,
                 schema: pa.Schema, buffer_bytes: int = DEFAULT_BUFFER_BYTES, threads: int = 2):
        self.corpus, self.table, self.file_name = corpus, table, file_name
        self.staging, self.schema, self.buffer_bytes = Path(staging), schema, buffer_bytes
        self.threads = threads
        self._blocks: list[tuple[pa.Table, np.ndarray]] = []  # rows held since the last spill
        self._held: dict[int, pa.Table] = {}  # at close: the held rows grouped by bucket
        self._held_bytes = 0
        self._spills: list[tuple[Path, dict[int, tuple[int, int]]]] = []  # (file, bucket -> range)
        self._spilling: Future | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spill")
        # One gather pool for every spill, not new threads per spill (see docs/extract.md).
        self._gather = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gather")
        self._spill_fds: dict[int, int] = {}
        self._written: list[int] = []
        self.rows = 0
        self.spills = 0
        # Rows of lines from this number on are not written (a damaged frame: not trusted), and
        # counted in `dropped`. Set before `close`; needs the "line" column.
        self.drop_from_line: int | None = None
        self.dropped = 0
        self._lock = threading.Lock()

    def staged_path(self, bucket: int) -> Path:
        # Flat: one directory, not one per bucket (creating and removing 1024 directories
        # cost seconds on the shared disk).
        return self.staging / self.table / f"{bucket:05d}-{self.file_name}"

    def spill_path(self, spill: int) -> Path:
        return self.staging / "spill" / self.table / f"{spill:05d}.arrow"

    def final_path(self, bucket: int) -> Path:
        return self.corpus.bucket_dir(self.table, bucket) / self.file_name

    def write(self, table: pa.Table, buckets: np.ndarray) -> None:
        """Add `table`'s rows; `buckets[i]` is row i's bucket. Rows keep their order per bucket."""
        if table.num_rows == 0:
            return
        self._blocks.append((table, buckets))  # grouped later, per buffer, off this thread
        self.rows += table.num_rows
        self._held_bytes += table.nbytes
        if self._held_bytes >= self.buffer_bytes:
            self._spill()

    def _spill(self) -> None:
        self._wait()
        blocks, self._blocks, self._held_bytes = self._blocks, [], 0
        self.spills += 1
        self._spilling = self._pool.submit(self._append_spills, blocks)

    def _wait(self) -> None:
        if self._spilling is not None:
            spilling, self._spilling = self._spilling, None
            spilling.result()  # re-raises a write error here, in the caller

    def _group(self, blocks: list[tuple[pa.Table, np.ndarray]]) -> dict[int, pa.Table]:
        """Held blocks -> {bucket: its rows in arrival order}, each a zero-copy slice of one
        contiguous table: one stable sort and one gather per buffer, not per block (per block,
        the gathers and 1024 slices each cost as much as parsing). Columns are gathered on
        `threads` threads (Arrow releases the GIL): at close this is the one serial step."""
        table = pa.concat_tables([t for t, _ in blocks])
        buckets = np.concatenate([b for _, b in blocks])
        order = np.argsort(buckets, kind="stable")
        indices = pa.array(order)
        columns = list(self._gather.map(lambda column: column.take(indices).combine_chunks(),
                                        table.columns))
        ordered = pa.Table.from_arrays(columns, schema=table.schema)
        present, starts = np.unique(buckets[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        return {bucket: ordered.slice(start, end - start)
                for bucket, start, end in zip(present.tolist(), starts.tolist(), ends.tolist())}

    def _append_spills(self, blocks: list[tuple[pa.Table, np.ndarray]]) -> None:
        """The held rows, grouped, to one spill file: bucket after bucket, each one Arrow IPC
        record batch whose (offset, size) is kept, so `close` reads back just its bucket's
        bytes. One sequential file per spill: per-bucket files cost a file write per bucket
        and block (~65 us each), as much as the rows themselves."""
        path = self.spill_path(len(self._spills))
        index: dict[int, tuple[int, int]] = {}
        grouped = self._group(blocks)
        blocks.clear()  # the held rows, now copied into `grouped`: a buffer less at the peak
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                offset = 0
                for bucket, rows in sorted(grouped.items()):
                    (batch,) = rows.to_batches()  # a slice of one contiguous table
                    message = batch.serialize()
                    fh.write(message)
                    index[bucket] = (offset, message.size)
                    offset += message.size
        except OSError as exc:
            raise explain_os_error(exc, path) from exc
        self._spills.append((path, index))

    def _read_spilled(self, spill: int, offset: int, size: int) -> pa.RecordBatch:
        fd = self._spill_fds.get(spill)
        if fd is None:  # more spills than descriptors kept open: open for this read
            with open(self._spills[spill][0], "rb") as fh:
                data = os.pread(fh.fileno(), size, offset)
        else:
            data = os.pread(fd, size, offset)  # thread-safe: no shared file position
        return pa.ipc.read_record_batch(pa.py_buffer(data), self.schema)

    def close(self) -> None:
        """Write every bucket file, complete (all but the renames)."""
        try:
            self._wait()
            self._held = self._group(self._blocks) if self._blocks else {}
            self._blocks = []
            buckets = sorted(set(self._held).union(*(index for _, index in self._spills)))
            self.staged_path(0).parent.mkdir(parents=True, exist_ok=True)
            self._spill_fds = {i: os.open(path, os.O_RDONLY)
                               for i, (path, _) in enumerate(self._spills[:OPEN_SPILLS])}
            try:
                with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="parquet") as pool:
                    wrote = list(pool.map(self._write_bucket, buckets))
            finally:
                for fd in self._spill_fds.values():
                    os.close(fd)
                self._spill_fds = {}
            for path, _ in self._spills:
                path.unlink()
            self._written = [b for b, w in zip(buckets, wrote) if w]
            self._held, self._held_bytes = {}, 0
        finally:
            self._pool.shutdown(wait=True)
            self._gather.shutdown(wait=True)

    def _write_bucket(self, bucket: int) -> bool:
        """Write one bucket's file; False when none of its rows is kept."""
        parts = [pa.Table.from_batches([self._read_spilled(i, *index[bucket])])
                 for i, (_, index) in enumerate(self._spills) if bucket in index]
        if bucket in self._held:
            parts.append(self._held[bucket])
        rows = pa.concat_tables(parts).combine_chunks()  # one slice per spill: 15% less write CPU
        if self.drop_from_line is not None:
            kept = rows.filter(pc.less(rows.column("line"), self.drop_from_line))
            with self._lock:
                self.dropped += rows.num_rows - kept.num_rows
            rows = kept
            if rows.num_rows == 0:
                return False
        path = self.staged_path(bucket)
        try:
            pq.write_table(rows, path, row_group_size=ROW_GROUP_ROWS, **WRITE_OPTIONS)
        except OSError as exc:
            raise explain_os_error(exc, path) from exc
        return True

    def abort(self) -> None:
        """Stop without publishing (the caller removes the staging directory)."""
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the run is failing already
            pass
        self._pool.shutdown(wait=True)
        self._gather.shutdown(wait=True)

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
