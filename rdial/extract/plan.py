"""Planning (parent): one InputTask per input, with the fingerprint the ledger compares.

    rdial extract dumps/ --out corpus      # a rerun skips inputs whose fingerprint is recorded

Inputs run largest first, so a big file does not start last and run alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rdial.corpus import Corpus
from rdial.executor import default_workers
from rdial.extract.config import ExtractConfig
from rdial.ledger import combine_fingerprints, file_fingerprint

# Bump when the rows written for the same input and settings change: forces a re-extract.
EXTRACT_FORMAT = "1"


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
    decode_procs: int = 0  # worker processes decoding its blocks (0: in its own threads)
    progress_queue: object = None  # receives (bytes, {"lines": n}) deltas while the task runs

    @property
    def key(self) -> str:  # the ledger key
        return self.name


def settings_fingerprint(cfg: ExtractConfig, corpus: Corpus, path: Path, kind: str) -> str:
    """The input's content plus every setting that changes its output."""
    return combine_fingerprints({"file": file_fingerprint(path), "kind": kind,
                                 "buckets": str(corpus.buckets),
                                 "max_line_bytes": str(cfg.max_line_bytes), "format": EXTRACT_FORMAT})


def plan(cfg: ExtractConfig, corpus: Corpus, inputs: list[tuple[Path, str, str]]) -> list[InputTask]:
    """One task per input, largest first (so a big file does not start last and run alone)."""
    tasks = [InputTask(path=path.resolve(), name=path.name, fmt=fmt, kind=kind,
                       corpus_root=corpus.root, buckets=corpus.buckets,
                       fingerprint=settings_fingerprint(cfg, corpus, path, kind),
                       max_line_bytes=cfg.max_line_bytes, buffer_bytes=cfg.buffer_mb << 20)
             for path, fmt, kind in inputs]
    tasks.sort(key=lambda t: (-t.path.stat().st_size, t.name))
    return tasks


def threads_per_input(cfg: ExtractConfig, running: int) -> int:
    """--threads, else this machine's cores shared among the inputs extracted at once (at least 2:
    parsing ahead needs one thread while the reader and the main thread use the other core).
    On Ray a task asks for one CPU on a node whose size the driver does not know: 2."""
    if cfg.threads is not None:
        return cfg.threads
    if cfg.executor == "ray":
        return 2
    return max(2, default_workers() // max(1, min(cfg.workers, running)))


# Below this much compressed input the workers' start-up (a Python with numpy, pyarrow and
# msgspec each, ~0.3 s of CPU) costs about what the parallel decode saves (an estimate from
# the start-up and decode costs, docs/extract.md; not a measured crossover).
AUTO_PROCS_MIN_BYTES = 16 << 20


def decode_procs_for(cfg: ExtractConfig, task: InputTask, running: int) -> int:
    """--decode-procs N, else (auto) the cores this input has when 2 or more, the input is big
    enough and the machine is not already busy (load average below its cores); 0 (decode in the
    input's own threads) when several inputs already share the cores, on Ray, for small inputs,
    and on a busy machine."""
    if cfg.decode_procs != "auto":
        return int(cfg.decode_procs)
    if cfg.executor == "ray" or task.path.stat().st_size < AUTO_PROCS_MIN_BYTES:
        return 0
    cores = default_workers() // max(1, min(cfg.workers, running))
    # Cores to spare means idle ones: on a machine already running more than it has cores
    # (load average >= cores) the workers only add their start-up and transfers (measured on
    # 2 cores: 1.31-1.43x the in-process decode at load 1.5-2.7, 0.52-0.84x at load 6-15;
    # docs/extract.md).
    if os.getloadavg()[0] >= default_workers():
        return 0
    return cores if cores >= 2 else 0
