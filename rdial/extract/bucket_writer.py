"""Rows of one input -> one Parquet file per non-empty thread bucket, published by rename.

    w = BucketedParquetWriter(corpus, "comments", "RC_2005-12.zst", staging_dir)
    w.write(table, thread_buckets(table["link_id"], corpus.buckets))
    w.close(); w.publish()        # -> comments/bucket=00017/RC_2005-12.zst.parquet, ...

Memory stays bounded for a dump of any size: rows wait in per-bucket buffers until
`buffer_bytes` are held, then every buffered bucket is appended to its file as one row group.
Files are written in a staging directory that mirrors the corpus layout
(`CORPUS/_staging/extract/<input>/comments/bucket=NNNNN/<input>.parquet`); `publish` renames
each into place (same file system, so each rename is atomic) and deletes this input's files in
buckets it no longer produces, so a changed input never leaves stale rows behind.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rdial.corpus import Corpus
from rdial.publish import explain_os_error

DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024


class BucketedParquetWriter:
    def __init__(self, corpus: Corpus, table: str, file_name: str, staging: Path, *,
                 schema: pa.Schema, buffer_bytes: int = DEFAULT_BUFFER_BYTES):
        self.corpus, self.table, self.file_name = corpus, table, file_name
        self.staging, self.schema, self.buffer_bytes = Path(staging), schema, buffer_bytes
        self._buffers: dict[int, list[pa.Table]] = {}
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._buffered = 0
        self.rows = 0

    def staged_path(self, bucket: int) -> Path:
        return self.staging / self.table / f"bucket={bucket:05d}" / self.file_name

    def final_path(self, bucket: int) -> Path:
        return self.corpus.bucket_dir(self.table, bucket) / self.file_name

    def write(self, table: pa.Table, buckets: np.ndarray) -> None:
        """Buffer `table`'s rows by bucket (`buckets[i]` is row i's bucket); rows keep their order."""
        if table.num_rows == 0:
            return
        order = np.argsort(buckets, kind="stable")
        ordered = table.take(pa.array(order))
        present, starts = np.unique(buckets[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for bucket, start, end in zip(present.tolist(), starts.tolist(), ends.tolist()):
            self._buffers.setdefault(bucket, []).append(ordered.slice(start, end - start))
        self.rows += table.num_rows
        self._buffered += ordered.nbytes
        if self._buffered >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        for bucket in sorted(self._buffers):
            rows = pa.concat_tables(self._buffers[bucket])
            try:
                self._writer(bucket).write_table(rows)
            except OSError as exc:
                raise explain_os_error(exc, self.staged_path(bucket)) from exc
        self._buffers.clear()
        self._buffered = 0

    def _writer(self, bucket: int) -> pq.ParquetWriter:
        writer = self._writers.get(bucket)
        if writer is None:
            path = self.staged_path(bucket)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self._writers[bucket] = writer
        return writer

    def close(self) -> None:
        """Write what is buffered and finish every staged file (all but the renames)."""
        self.flush()
        for bucket, writer in sorted(self._writers.items()):
            try:
                writer.close()
            except OSError as exc:
                raise explain_os_error(exc, self.staged_path(bucket)) from exc

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
