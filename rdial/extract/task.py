"""One input (worker): stream a dump into staged bucket files, publish them, record the ledger.

    python -m rdial.extract.cli RC_2005-12.zst --out corpus --workers 1   # runs in-process

`extract_input(task)` never raises for bad input: a damaged file is a "failed" result that
keeps the rows from before the damage that its codec's checks vouch for (rows after that point
are held until the input ends, then dropped and counted as untrusted_rows) and has no ledger entry (the next run tries it again); an
unwritable output is an "error" result, which stops the run (exit 2). The ledger entry is
written last, so a task killed at any point runs again from scratch and overwrites its own
files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rdial.corpus import Corpus
from rdial.errors import InputError, RdialError
from rdial.extract.bucket_writer import BucketedParquetWriter
from rdial.extract.config import STAGE
from rdial.extract.decode_procs import DecodeProcesses
from rdial.extract.memory import keep_freed_memory
from rdial.extract.normalize import SPECS
from rdial.extract.parse import BlockParser
from rdial.extract.plan import InputTask
from rdial.extract.publish import publish_outputs
from rdial.extract.quarantine import QuarantineWriter
from rdial.extract.readers import open_dump
from rdial.extract.stream import stream_input
from rdial.ledger import Ledger
from rdial.publish import atomic_write_json
from rdial.stage import TaskResult


def staging_dir(corpus: Corpus, name: str) -> Path:
    return corpus.root / "_staging" / STAGE / name


def extract_input(task: InputTask) -> TaskResult:
    """Extract one file and publish its outputs. Never raises for bad input: a damaged file
    is a "failed" result, an unwritable output an "error" result."""
    keep_freed_memory()  # big buffers come and go per block: reuse them, no page faults
    corpus = Corpus(root=task.corpus_root, buckets=task.buckets)
    staging = staging_dir(corpus, task.name)
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of a killed run
    quarantine = QuarantineWriter(corpus.quarantine_dir / f"{task.name}.jsonl", staging / "quarantine")
    spec = SPECS[task.kind]
    writer = BucketedParquetWriter(corpus, spec.kind, f"{task.name}.parquet", staging,
                                   schema=spec.table_schema, buffer_bytes=task.buffer_bytes,
                                   threads=task.threads)
    try:
        return _extract(task, corpus, spec, writer, quarantine)
    except RdialError as exc:
        writer.abort()
        quarantine.abort()
        return TaskResult(task.name, "failed" if isinstance(exc, InputError) else "error",
                           message=str(exc))
    except BaseException:
        writer.abort()
        quarantine.abort()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for empty in (staging.parent, staging.parent.parent):  # _staging/extract, _staging
            try:
                empty.rmdir()
            except OSError:
                pass  # not empty: another input is still staging


def _extract(task, corpus, spec, writer, quarantine) -> TaskResult:
    start = time.monotonic()
    # Decode processes start before the reader thread (and from this thread, which outlives
    # them: the kernel's kill-with-parent follows the thread that started a child).
    procs = (DecodeProcesses(task.decode_procs, kind=spec.kind, max_line_bytes=task.max_line_bytes,
                             name=task.name) if task.decode_procs else None)
    try:
        parser = BlockParser(spec, quarantine, max_line_bytes=task.max_line_bytes, procs=procs)
        reader = open_dump(task.path, task.fmt)
        counts, failure, untrusted_from = stream_input(task, reader, parser, writer)
    finally:
        if procs is not None:
            procs.close()  # before the bucket files are written: their memory is free again
    streamed = time.monotonic()
    writer.drop_from_line = untrusted_from  # rows of a damaged frame: counted, not published
    outputs = publish_outputs(corpus, writer, quarantine)
    counts["good"] -= writer.dropped
    stats = {
        "input": task.name, "path": str(task.path), "kind": spec.kind, "format": task.fmt,
        "status": "failed" if failure else "done", "message": failure or "",
        "bytes": reader.size, "decompressed_bytes": counts["bytes"], "lines": counts["lines"],
        "good": counts["good"], "blank": parser.blank,
        "quarantined": dict(sorted(quarantine.counts.items())), "quarantined_total": quarantine.total,
        "untrusted_rows": writer.dropped, "untrusted_from_line": untrusted_from,
        "nulled": dict(sorted(parser.nulled.items())), "repaired_surrogates": parser.repaired,
        "bucket_files": len(writer.buckets), "spills": writer.spills,
        "fast_blocks": parser.fast_blocks, "slow_blocks": parser.slow_blocks,
        "reference_lines": parser.reference_lines,
        "decode_procs": task.decode_procs,
        "decode_procs_peak_rss": procs.peak_rss if procs is not None else 0,
        "decode_procs_cpu_seconds": round(procs.cpu_seconds, 3) if procs is not None else 0,
        "seconds": round(time.monotonic() - start, 3),
        "seconds_reading": round(streamed - start, 3),  # decompress, parse, group by bucket
        "seconds_writing": round(time.monotonic() - streamed, 3),  # Parquet files, publish
    }
    atomic_write_json(corpus.stats_dir(STAGE) / f"{task.name}.json", stats, sort_keys=False)
    ledger = Ledger(corpus.root, STAGE)
    if failure:  # no entry: the next run tries this input again
        ledger.forget(task.name)
        return TaskResult(task.name, "failed", stats, outputs, failure)
    ledger.record(task.name, task.fingerprint, outputs, stats)  # last: marks the input finished
    return TaskResult(task.name, "done", stats, outputs)
