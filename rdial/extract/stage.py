"""The extract stage: dump files -> bucketed comments and submissions tables.

    python -c "from pathlib import Path; from rdial.extract.stage import ExtractConfig, run_extract; \\
               print(run_extract(ExtractConfig(inputs=[Path('RC_2005-12.zst')], out=Path('corpus'))).summary())"

One task per input file, largest first, on the local pool (or Ray). A task streams its file
(reader thread -> line blocks -> --threads parse threads -> bucket writer), stages every output, then
publishes: bucket files by rename, quarantine, stats, and last the ledger entry. A rerun skips inputs
whose ledger entry matches the file's fingerprint; a killed task has no entry, so it runs again
from scratch and overwrites its own files: killed-and-rerun ends identical to uninterrupted.

Per input, in CORPUS:
    comments/bucket=NNNNN/<input>.parquet   (or submissions/...; none for an empty bucket)
    quarantine/<input>.jsonl                bad lines verbatim (only when there are some)
    stats/extract/<input>.json              lines, bytes, good, blank, quarantined by reason, ...
Per run: config/extract.json (resolved config), stats/extract.json (summary of this run).

A damaged compressed input keeps the lines before the damage that its codec's checks vouch for
(rows after that point are held until the input ends, then dropped and counted as untrusted_rows),
is reported failed (exit status 1) and has no ledger entry, so the next run tries it again. Output that cannot be written (full
disk, read-only) stops the run with one line (exit status 2) and publishes nothing of that input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from rdial.config import arg, require, save_config
from rdial.corpus import Corpus
from rdial.errors import InputError, RdialError
from rdial.executor import TaskFailure, default_workers, run_tasks, start_backend, task_queue
from rdial.extract.bucket_writer import DEFAULT_BUFFER_BYTES, BucketedParquetWriter
from rdial.extract.inputs import ARRAY_LIMIT, find_inputs
from rdial.extract.lines import DEFAULT_BLOCK, line_blocks
from rdial.extract.memory import keep_freed_memory
from rdial.extract.normalize import SPECS
from rdial.extract.parse import BlockParser, array_blocks, read_ahead
from rdial.extract.quarantine import QuarantineWriter
from rdial.extract.readers import (CorruptInputError, Prefetched, TrustedLines, chunks_with_offsets,
                                   open_dump)
from rdial.ledger import Ledger, combine_fingerprints, file_fingerprint
from rdial.progress import Progress
from rdial.publish import TMP_PREFIX, atomic_write_json, explain_os_error, sweep_temporaries
from rdial.schema import thread_buckets

STAGE = "extract"


@dataclass(kw_only=True)
class ExtractConfig:
    inputs: list[Path] = field(metadata=arg(
        "dump files (RC_*/RS_* .zst .bz2 .xz .gz .json .ndjson) or directories holding them",
        positional=True, metavar="DUMP_OR_DIR"))
    out: Path = field(metadata=arg("corpus directory (created if absent)", metavar="CORPUS"))
    buckets: int | None = field(default=None, metadata=arg(
        "thread buckets, fixed when the corpus is created (default: 1024)"))
    workers: int = field(default_factory=default_workers, metadata=arg(
        "input files extracted in parallel, one process each (default here: all cores)"))
    executor: str = field(default="local", metadata=arg(
        "where tasks run: a local process pool or a Ray cluster", choices=["local", "ray"]))
    force: bool = field(default=False, metadata=arg(
        "redo inputs the ledger records as finished and unchanged"))
    kind: str = field(default="auto", metadata=arg(
        "what the inputs hold: auto decides by name (RC_/RS_, 'comment'/'submission') then by "
        "the first record (title -> submissions, body -> comments)",
        choices=["auto", "comments", "submissions"]))
    max_line_bytes: int = field(default=1024 * 1024, metadata=arg(
        "lines longer than this are quarantined as line_too_long"))
    threads: int | None = field(default=None, metadata=arg(
        "threads per input that parse blocks ahead and write bucket files (default: the cores "
        "shared among the inputs extracted at once, at least 2; 2 on Ray)"))
    buffer_mb: int = field(default=DEFAULT_BUFFER_BYTES >> 20, metadata=arg(
        "rows held in memory per input before they are appended to the bucket files (MiB)"))
    progress: bool = field(default=True, metadata=arg(
        "show progress (a live line on a terminal, a log line every 30 s otherwise)"))

    def __post_init__(self):
        self.inputs = [Path(p) for p in self.inputs]
        self.out = Path(self.out)
        require(len(self.inputs) > 0, "DUMP_OR_DIR", "give at least one dump file or directory")
        require(self.buckets is None or 1 <= self.buckets <= 99999, "--buckets",
                "must be between 1 and 99999")
        require(self.workers >= 1, "--workers", "must be at least 1")
        require(self.max_line_bytes >= 1024, "--max-line-bytes", "must be at least 1024")
        require(self.buffer_mb >= 1, "--buffer-mb", "must be at least 1")
        require(self.threads is None or self.threads >= 1, "--threads", "must be at least 1")


@dataclass
class InputTask:
    path: Path
    name: str
    fmt: str
    kind: str
    corpus_root: Path
    buckets: int
    fingerprint: str
    max_line_bytes: int
    buffer_bytes: int
    threads: int = 2  # parse-ahead and bucket-writing threads; the output does not depend on it
    progress_queue: object = None  # receives (bytes, lines) deltas while the task runs


@dataclass
class InputResult:
    name: str
    status: str                 # "done", "skipped", "failed" (input damaged) or "error" (output)
    stats: dict = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "error")


@dataclass
class ExtractReport:
    corpus: Corpus
    results: list[InputResult]
    seconds: float

    @property
    def failed(self) -> list[InputResult]:
        return [r for r in self.results if r.failed]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def result(self, name: str) -> InputResult:
        return next(r for r in self.results if r.name == name)

    def totals(self) -> dict:
        keys = ("lines", "good", "blank", "quarantined_total")
        return {k: sum(r.stats.get(k, 0) for r in self.results) for k in keys}

    def summary(self) -> str:
        t = self.totals()
        done = sum(r.status == "done" for r in self.results)
        skipped = sum(r.status == "skipped" for r in self.results)
        return (f"extract: {len(self.results)} inputs ({done} done, {skipped} skipped, "
                f"{len(self.failed)} failed): {t['lines']:,} lines, {t['good']:,} rows, "
                f"{t['quarantined_total']:,} quarantined, {self.seconds:.1f} s -> {self.corpus.root}")


# --- planning (parent) -----------------------------------------------------------------------------
def settings_fingerprint(cfg: ExtractConfig, corpus: Corpus, path: Path, kind: str) -> str:
    """The input's content plus every setting that changes its output."""
    return combine_fingerprints({"file": file_fingerprint(path), "kind": kind,
                                 "buckets": str(corpus.buckets),
                                 "max_line_bytes": str(cfg.max_line_bytes), "format": "1"})


def plan(cfg: ExtractConfig, corpus: Corpus, inputs: list[tuple[Path, str, str]]) -> list[InputTask]:
    """One task per input, largest first (so a big file does not start last and run alone)."""
    tasks = [InputTask(path=path.resolve(), name=path.name, fmt=fmt, kind=kind,
                       corpus_root=corpus.root, buckets=corpus.buckets,
                       fingerprint=settings_fingerprint(cfg, corpus, path, kind),
                       max_line_bytes=cfg.max_line_bytes, buffer_bytes=cfg.buffer_mb << 20)
             for path, fmt, kind in inputs]
    tasks.sort(key=lambda t: (-t.path.stat().st_size, t.name))
    return tasks


# --- one input (worker) ----------------------------------------------------------------------------
def staging_dir(corpus: Corpus, name: str) -> Path:
    return corpus.root / "_staging" / STAGE / name


def extract_input(task: InputTask) -> InputResult:
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
        return InputResult(task.name, "failed" if isinstance(exc, InputError) else "error",
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


def _extract(task, corpus, spec, writer, quarantine) -> InputResult:
    start = time.monotonic()
    parser = BlockParser(spec, quarantine, max_line_bytes=task.max_line_bytes)
    reader = open_dump(task.path, task.fmt)
    counts, failure, untrusted_from = _stream(task, reader, parser, writer)
    streamed = time.monotonic()
    writer.drop_from_line = untrusted_from  # rows of a damaged frame: counted, not published
    outputs = _publish(corpus, writer, quarantine)
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
        "seconds": round(time.monotonic() - start, 3),
        "seconds_reading": round(streamed - start, 3),  # decompress, parse, group by bucket
        "seconds_writing": round(time.monotonic() - streamed, 3),  # Parquet files, publish
    }
    atomic_write_json(corpus.stats_dir(STAGE) / f"{task.name}.json", stats, sort_keys=False)
    ledger = Ledger(corpus.root, STAGE)
    if failure:  # no entry: the next run tries this input again
        ledger.forget(task.name)
        return InputResult(task.name, "failed", stats, outputs, failure)
    ledger.record(task.name, task.fingerprint, outputs, stats)  # last: marks the input finished
    return InputResult(task.name, "done", stats, outputs)


def _stream(task: InputTask, reader, parser: BlockParser, writer: BucketedParquetWriter):
    """Read, parse and bucket the whole input. Returns (counts, failure message or None, first
    line whose row is not trusted or None)."""
    source = pa.scalar(task.name, pa.string())
    key = "link_id" if parser.spec.kind == "comments" else "id"
    counts = {"lines": 0, "good": 0, "bytes": 0}
    progress = _TaskProgress(task.progress_queue)
    trusted = TrustedLines(reader)
    untrusted_from = None
    try:
        for block, ahead in read_ahead(_blocks(task, reader), parser, threads=task.threads,
                                       depth=task.threads + 1):
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


def _publish(corpus: Corpus, writer: BucketedParquetWriter, quarantine: QuarantineWriter) -> list[str]:
    """Finish the staged files, then rename them into the corpus. Returns relative paths."""
    try:
        writer.close()
        quarantine.close()
        outputs = writer.publish()
        if (q := quarantine.publish()) is not None:
            outputs.append(str(Path(q).relative_to(corpus.root)))
    except OSError as exc:
        raise explain_os_error(exc, corpus.root) from exc
    return outputs


class _TaskProgress:
    """Sends (compressed bytes, lines) deltas to the parent's progress line."""

    def __init__(self, updates):
        self.updates, self.bytes, self.lines = updates, 0, 0

    def report(self, offset: int, lines: int) -> None:
        if self.updates is not None:
            self.updates.put((offset - self.bytes, lines - self.lines))
            self.bytes, self.lines = offset, lines


def _blocks(task: InputTask, reader):
    if task.fmt == "plain" and _is_json_array(task.path):
        if task.path.stat().st_size > ARRAY_LIMIT:
            raise InputError(f"{task.path}: a JSON array over {ARRAY_LIMIT >> 20} MiB; "
                             "convert it to one object a line")
        return array_blocks(task.path.read_bytes(), str(task.path))
    # Decompression and line splitting run in a thread, ahead of the parser.
    return Prefetched(line_blocks(chunks_with_offsets(reader), DEFAULT_BLOCK), depth=2,
                      name=f"read:{task.name}")


def _is_json_array(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4096).lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"[")


# --- the run (parent) ------------------------------------------------------------------------------
def run_extract(cfg: ExtractConfig, *, log=None) -> ExtractReport:
    """Extract every input of `cfg` into the corpus `cfg.out`; see the module docstring."""
    start = time.monotonic()
    # A missing input stops the run here; an unreadable one is a failed input, the others go on.
    found = find_inputs(cfg.inputs, kind=cfg.kind, corpus_root=cfg.out)
    corpus = Corpus.open_or_create(cfg.out, cfg.buckets)
    with corpus.lock(STAGE):
        start_backend(cfg.executor, workers=cfg.workers)  # a bad RAY_ADDRESS fails before any change
        return _extract_into(corpus, cfg, found.inputs, found.notes, start, found.failed)


def _extract_into(corpus: Corpus, cfg: ExtractConfig, inputs, not_dumps: list[str],
                  start: float, unreadable: list[tuple[Path, str]] = ()) -> ExtractReport:
    sweep_leftovers(corpus)
    tasks = plan(cfg, corpus, inputs)
    save_config(cfg, corpus.root / "config" / f"{STAGE}.json")
    ledger = Ledger(corpus.root, STAGE)
    skipped, todo = [], []
    for task in tasks:
        entry = ledger.get(task.name)
        if not cfg.force and entry and entry.get("fingerprint") == task.fingerprint:
            skipped.append(InputResult(task.name, "skipped", entry.get("stats", {}),
                                       entry.get("outputs", []), "unchanged since the last run"))
        else:
            todo.append(task)
    progress = Progress(STAGE, total=sum(t.path.stat().st_size for t in todo) or None, unit="B",
                        enabled=cfg.progress)
    for note in not_dumps:
        progress.write(f"extract: {note}")
    unreadable = [InputResult(path.name, "failed", message=why) for path, why in unreadable]
    for r in unreadable:
        progress.write(f"extract: {r.name}: FAILED: {r.message}")
    for r in skipped:
        progress.write(f"extract: {r.name}: skipped (unchanged; --force redoes it)")
    threads = threads_per_input(cfg, len(todo))
    results = _run_tasks(cfg, [dataclasses.replace(t, threads=threads) for t in todo], progress)
    progress.close()
    by_name = {r.name: r for r in results + skipped}
    report = ExtractReport(corpus, [by_name[t.name] for t in tasks] + unreadable,
                           time.monotonic() - start)
    _write_run_summary(corpus, report)
    fatal = [r for r in report.results if r.status == "error"]
    if fatal:
        raise RdialError(fatal[0].message)
    return report


def sweep_leftovers(corpus: Corpus) -> int:
    """Remove what a killed extract run left: temporary files of the small JSON outputs
    (ledger, stats, config) written by atomic rename, and staged tables and quarantine files
    under `_staging/extract`. (Two extract runs into one corpus at the same time
    are not supported: one would sweep the other's temporaries.)"""
    found = 0
    staging = corpus.root / "_staging" / STAGE
    if staging.exists():  # killed between publishing an input and removing its staging
        found += 1
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()
    for directory in (Ledger(corpus.root, STAGE).dir, corpus.stats_dir(STAGE)):
        found += sweep_temporaries(directory)
    for directory in (corpus.root / "stats", corpus.root / "config", corpus.root):
        for tmp in directory.glob(f"{TMP_PREFIX}*-{STAGE}.json") if directory.exists() else ():
            tmp.unlink(missing_ok=True)
            found += 1
    for tmp in corpus.root.glob(f"{TMP_PREFIX}*-corpus.json"):
        tmp.unlink(missing_ok=True)
        found += 1
    return found


def threads_per_input(cfg: ExtractConfig, running: int) -> int:
    """--threads, else this machine's cores shared among the inputs extracted at once (at least 2:
    parsing ahead needs one thread while the reader and the main thread use the other core).
    On Ray a task asks for one CPU on a node whose size the driver does not know: 2."""
    if cfg.threads is not None:
        return cfg.threads
    if cfg.executor == "ray":
        return 2
    return max(2, default_workers() // max(1, min(cfg.workers, running)))


def _run_tasks(cfg: ExtractConfig, todo: list[InputTask], progress: Progress) -> list[InputResult]:
    if not todo:
        return []

    def on_result(task, result):
        progress.write(_describe(task, _as_result(task, result)))

    with task_queue(cfg.executor, workers=cfg.workers, tasks=len(todo)) as updates:
        todo = [dataclasses.replace(t, progress_queue=updates) for t in todo]
        pump = _ProgressPump(updates, progress)
        try:
            raw = run_tasks(extract_input, todo, workers=cfg.workers, backend=cfg.executor,
                            on_result=on_result)
        finally:
            pump.stop()
    return [_as_result(t, r) for t, r in zip(todo, raw)]


def _as_result(task: InputTask, result) -> InputResult:
    if isinstance(result, TaskFailure):  # a bug or a dead worker: reported, not fatal
        return InputResult(task.name, "failed", message=result.message)
    return result


def _describe(task: InputTask, r: InputResult) -> str:
    s = r.stats
    if r.status == "done":
        return (f"extract: {r.name}: {s['lines']:,} lines -> {s['good']:,} {task.kind}, "
                f"{s['quarantined_total']:,} quarantined, {s['blank']:,} blank, {s['seconds']:.1f} s")
    if r.status == "failed" and s:
        dropped = (f", {s['untrusted_rows']:,} from line {s['untrusted_from_line']:,} on not kept"
                   if s.get("untrusted_rows") else "")
        return (f"extract: {r.name}: FAILED: {r.message} ({s['good']:,} {task.kind} kept "
                f"from before the damage{dropped})")
    return f"extract: {r.name}: FAILED: {r.message}"


class _ProgressPump:
    """Folds (bytes, lines) deltas from the tasks into the parent's progress line."""

    def __init__(self, updates, progress: Progress):
        self.updates, self.progress = updates, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="extract-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(timeout=0.2)
        self._drain(timeout=0)

    def _drain(self, timeout: float) -> None:
        try:
            while True:
                n_bytes, n_lines = self.updates.get(timeout=timeout) if timeout else self.updates.get_nowait()
                self.progress.update(n_bytes, lines=n_lines)
                timeout = 0
        except (queue.Empty, EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - a closed manager queue ends the pump
            return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _write_run_summary(corpus: Corpus, report: ExtractReport) -> None:
    summary = {
        "stage": STAGE, "seconds": round(report.seconds, 3), "totals": report.totals(),
        "inputs": {r.name: {"status": r.status, "message": r.message,
                            **{k: r.stats.get(k) for k in ("kind", "lines", "good", "blank",
                                                           "quarantined_total", "seconds")}}
                   for r in report.results},
        "failed": [r.name for r in report.failed],
    }
    atomic_write_json(corpus.root / "stats" / f"{STAGE}.json", summary, sort_keys=False)
    done = sorted(Ledger(corpus.root, STAGE).entries())
    corpus.write_metadata({STAGE: {"inputs": done}})


__all__ = ["ExtractConfig", "ExtractReport", "InputResult", "run_extract", "extract_input", "plan"]
