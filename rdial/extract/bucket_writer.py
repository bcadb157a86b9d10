"""Rows of one input -> one Parquet file per non-empty thread bucket, published by rename.

    w = BucketedParquetWriter(corpus, "comments", "RC_2005-12.zst.parquet", staging_dir, schema=COMMENTS)
    w.write(table, column_buckets(table["link_id"], corpus.buckets))
    w.close(); w.publish()        # -> comments/bucket=00017/RC_2005-12.zst.parquet, ...

Memory stays bounded for a dump of any size: parsed blocks are held until `buffer_bytes`, then
one flush sorts them by bucket (stable: rows keep their input order within a bucket) and
appends each bucket's rows to its file as one row group. Flushes run in background threads
(Arrow releases the GIL while encoding and compressing) so parsing the next blocks goes on; at
most one flush is in flight, so at most twice `buffer_bytes` are held.

Files are written in a staging directory that mirrors the corpus layout
(`CORPUS/_staging/extract/<input>/comments/bucket=NNNNN/<input>.parquet`); `publish` renames
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
import pyarrow.parquet as pq

from rdial.corpus import Corpus
from rdial.publish import explain_os_error

DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024
# Dictionary pages pay off for repetitive strings only; for ids and texts the writer would
# build a dictionary per row group and throw it away (measured: ~30% of write time).
DICTIONARY_COLUMNS = ("link_id", "author", "subreddit", "distinguished", "domain", "source")
STATISTICS_COLUMNS = ("id", "link_id", "created_utc", "retrieved_on", "line")


class BucketedParquetWriter:
    def __init__(self, corpus: Corpus, table: str, file_name: str, staging: Path, *,
                 schema: pa.Schema, buffer_bytes: int = DEFAULT_BUFFER_BYTES):
        self.corpus, self.table, self.file_name = corpus, table, file_name
        self.staging, self.schema, self.buffer_bytes = Path(staging), schema, buffer_bytes
        self._pending: list[tuple[pa.Table, np.ndarray]] = []
        self._buffered = 0
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-flush")
        self._flushing: Future | None = None
        self.rows = 0

    def staged_path(self, bucket: int) -> Path:
        return self.staging / self.table / f"bucket={bucket:05d}" / self.file_name

    def final_path(self, bucket: int) -> Path:
        return self.corpus.bucket_dir(self.table, bucket) / self.file_name

    def write(self, table: pa.Table, buckets: np.ndarray) -> None:
        """Add `table`'s rows; `buckets[i]` is row i's bucket."""
        if table.num_rows == 0:
            return
        self._pending.append((table, buckets))
        self.rows += table.num_rows
        self._buffered += table.nbytes
        if self._buffered >= self.buffer_bytes:
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        self._wait()
        if self._pending:
            pending, self._pending, self._buffered = self._pending, [], 0
            self._flushing = self._pool.submit(self._write_buckets, pending)
        if wait:
            self._wait()

    def _wait(self) -> None:
        if self._flushing is not None:
            flushing, self._flushing = self._flushing, None
            flushing.result()  # re-raises a write error here, in the caller

    def _write_buckets(self, pending: list[tuple[pa.Table, np.ndarray]]) -> None:
        rows = pa.concat_tables([t for t, _ in pending])
        buckets = np.concatenate([b for _, b in pending])
        order = np.argsort(buckets, kind="stable")
        rows = rows.take(pa.array(order))
        present, starts = np.unique(buckets[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        parts = [(b, rows.slice(s, e - s)) for b, s, e in zip(present.tolist(), starts.tolist(),
                                                               ends.tolist())]
        for bucket, _ in parts:  # create writers here, in one thread
            self._writer(bucket)
        # Each bucket is its own file: the pool writes different ones side by side.
        list(self._pool_map(lambda part: self._append(*part), parts))

    def _pool_map(self, fn, items):
        # Two threads (this flush thread and a helper), each writing half of the buckets.
        half = len(items) // 2
        with ThreadPoolExecutor(max_workers=1) as helper:
            future = helper.submit(lambda: [fn(x) for x in items[half:]])
            done = [fn(x) for x in items[:half]]
            return done + future.result()

    def _append(self, bucket: int, rows: pa.Table) -> None:
        try:
            self._writers[bucket].write_table(rows)
        except OSError as exc:
            raise explain_os_error(exc, self.staged_path(bucket)) from exc

    def _writer(self, bucket: int) -> pq.ParquetWriter:
        writer = self._writers.get(bucket)
        if writer is None:
            path = self.staged_path(bucket)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(
                    path, self.schema, compression="zstd",
                    use_dictionary=[c for c in DICTIONARY_COLUMNS if c in self.schema.names],
                    write_statistics=[c for c in STATISTICS_COLUMNS if c in self.schema.names])
            except OSError as exc:
                raise explain_os_error(exc, path) from exc
            self._writers[bucket] = writer
        return writer

    def close(self) -> None:
        """Write what is buffered and finish every staged file (all but the renames)."""
        try:
            self.flush(wait=True)
            for bucket, writer in sorted(self._writers.items()):
                try:
                    writer.close()
                except OSError as exc:
                    raise explain_os_error(exc, self.staged_path(bucket)) from exc
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without publishing (the caller removes the staging directory)."""
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the run is failing already
            pass
        for writer in self._writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass
        self._pool.shutdown(wait=True)

    @property
    def buckets(self) -> list[int]:
        return sorted(self._writers)

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
