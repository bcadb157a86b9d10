"""Streaming one input (worker): reader thread -> line blocks -> parse threads -> bucket writer.

    python bench/bench_extract.py        # this path, timed against a plain-Python baseline

Decompression and line splitting run in a thread ahead of the parser (`Prefetched`); --threads
parse threads work ahead of the main thread (`read_ahead`), which appends each block's rows,
with their `source` and `line`, to the bucket writer in input order, so the output does not
depend on the thread count. A CorruptInputError ends the stream and keeps what came before it
that the codec's checks vouch for (TrustedLines: the first line not to trust).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from rdial.errors import InputError
from rdial.extract.bucket_writer import BucketedParquetWriter
from rdial.extract.inputs import ARRAY_LIMIT
from rdial.extract.lines import DEFAULT_BLOCK, line_blocks
from rdial.extract.parse import BlockParser, array_blocks, read_ahead
from rdial.extract.plan import InputTask
from rdial.extract.readers import CorruptInputError, Prefetched, TrustedLines, chunks_with_offsets
from rdial.schema import thread_buckets


def stream_input(task: InputTask, reader, parser: BlockParser, writer: BucketedParquetWriter):
    """Read, parse and bucket the whole input. Returns (counts, failure message or None, first
    line whose row is not trusted or None)."""
    source = pa.scalar(task.name, pa.string())
    key = "link_id" if parser.spec.kind == "comments" else "id"
    counts = {"lines": 0, "good": 0, "bytes": 0}
    progress = TaskProgress(task.progress_queue)
    trusted = TrustedLines(reader)
    untrusted_from = None
    try:
        # With decode processes the threads only wait on their pipes: one per process keeps
        # every process busy.
        threads = parser.procs.procs if parser.procs else task.threads
        for block, ahead in read_ahead(input_blocks(task, reader), parser, threads=threads,
                                       depth=threads + 1):
            trusted.see(block)
            counts["lines"] += block.n_lines
            counts["bytes"] += len(block.data)
            table, lines = parser.parse(block, ahead)
            if table.num_rows:
                table = table.append_column("source", pa.repeat(source, table.num_rows))
                table = table.append_column("line", pa.array(lines, pa.int64()))
                writer.write(table, thread_buckets(table.column(key), task.buckets))
                counts["good"] += table.num_rows
            progress.report(block.offset, counts["lines"])
        failure = None
    except CorruptInputError as exc:  # keep what came before the damage, if it can be trusted
        failure = str(exc)
        untrusted_from = trusted.first_untrusted_line(exc)
    progress.report(reader.size, counts["lines"])
    return counts, failure, untrusted_from


class TaskProgress:
    """Sends (compressed bytes, {"lines": n}) deltas to the parent's progress line
    (rdial.stage.ProgressPump folds them in)."""

    def __init__(self, updates):
        self.updates, self.bytes, self.lines = updates, 0, 0

    def report(self, offset: int, lines: int) -> None:
        if self.updates is not None:
            self.updates.put((offset - self.bytes, {"lines": lines - self.lines}))
            self.bytes, self.lines = offset, lines


def input_blocks(task: InputTask, reader):
    if task.fmt == "plain" and _is_json_array(task.path):
        if task.path.stat().st_size > ARRAY_LIMIT:
            raise InputError(f"{task.path}: a JSON array over {ARRAY_LIMIT >> 20} MiB; "
                             "convert it to one object a line")
        return array_blocks(task.path.read_bytes(), str(task.path))
    # Decompression and line splitting run in a thread, ahead of the parser.
    return Prefetched(line_blocks(chunks_with_offsets(reader), DEFAULT_BLOCK, count=False), depth=2,
                      name=f"read:{task.name}")


def _is_json_array(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4096).lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"[")
