"""Make RC chunks in worker processes, results in order, a bounded number in flight.

    with ChunkPool(workers=2, scratch=out_dir) as pool:
        for result in pool.map_chunks(emitter, n_chunks):   # ChunkResult 0, 1, 2, ...
            ...

The month's emitter (plan + thread table) is pickled once per month into a `.tmp-` file under
`scratch`; each worker loads it once and then makes the chunks it is given. Workers are spawned
(not forked: the parent runs zstd threads), once per `generate_dumps` call.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

from rdial.executor import worker_init_args
from rdial.publish import atomic_path

_LOADED: dict[str, object] = {}     # in a worker: path of the month file -> its emitter


def _chunk_in_worker(task: tuple[str, int]):
    path, k = task
    emitter = _LOADED.get(path)
    if emitter is None:
        _LOADED.clear()
        with open(path, "rb") as fh:
            emitter = _LOADED[path] = pickle.load(fh)
    return emitter.chunk(k)


class ChunkPool:
    def __init__(self, workers: int, scratch: Path) -> None:
        self.workers = workers
        self.scratch = Path(scratch)
        self._executor: ProcessPoolExecutor | None = None
        self._files: list[Path] = []

    def __enter__(self) -> "ChunkPool":
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        for f in self._files:
            f.unlink(missing_ok=True)

    def map_chunks(self, emitter, n_chunks: int) -> Iterator:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(  # workers die with the parent, ignore Ctrl-C
                self.workers, mp_context=multiprocessing.get_context("spawn"), **worker_init_args())
        path = self._publish(emitter)
        tasks = iter((str(path), k) for k in range(n_chunks))
        pending = collections.deque(self._executor.submit(_chunk_in_worker, t)
                                    for t in _take(tasks, 2 * self.workers))
        while pending:
            result = pending.popleft().result()
            for t in _take(tasks, 1):
                pending.append(self._executor.submit(_chunk_in_worker, t))
            yield result
        path.unlink(missing_ok=True)

    def _publish(self, emitter) -> Path:
        final = self.scratch / f".tmp-synth-{os.getpid()}-{emitter.plan.month}.pickle"
        with atomic_path(final) as tmp:
            with open(tmp, "wb") as fh:
                pickle.dump(emitter, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._files.append(final)
        return final


def _take(it, n: int) -> list:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out
