"""Run a stage's independent tasks on a local process pool, or on a Ray cluster.

    results = run_tasks(extract_one, tasks, workers=4)              # local pool
    results = run_tasks(extract_one, tasks, workers=4, backend="ray")  # same code on Ray

A task is any picklable object; `fn(task)` runs in a worker and returns a picklable result.
Tasks are submitted in the order given (stages pass them largest first, so the long ones do not
finish last alone). A task that raises does not stop the others: its slot holds a `TaskFailure`
with the message, and the stage reports it and sets a non-zero exit status.

`workers=1` runs in-process (no pool): simplest to debug and what the tests use for exact output.
Workers use the "spawn" start method: forking a process that already runs Arrow/Polars thread
pools can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from rdial.errors import RdialError


@dataclass
class TaskFailure:
    task: Any
    message: str
    traceback: str = ""


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _call(fn, task):
    try:
        return fn(task)
    except RdialError as exc:
        return TaskFailure(task, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken task must not stop the others
        return TaskFailure(task, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def run_tasks(fn: Callable[[Any], Any], tasks: Iterable[Any], *, workers: int = 1,
              backend: str = "local", on_result: Callable[[Any, Any], None] | None = None) -> list:
    """Run `fn` over `tasks`; results come back in task order. `on_result(task, result)` is
    called in the parent as each task finishes (for progress and logging)."""
    tasks = list(tasks)
    if backend == "ray":
        return _run_ray(fn, tasks, workers, on_result)
    if backend != "local":
        raise RdialError(f"--executor: unknown backend {backend!r} (choose local or ray)")
    if workers <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            result = _call(fn, task)
            if on_result:
                on_result(task, result)
            results.append(result)
        return results
    results: list = [None] * len(tasks)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        pending = {pool.submit(_call, fn, task): i for i, task in enumerate(tasks)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    result = TaskFailure(tasks[i], f"worker died: {type(exc).__name__}: {exc}")
                results[i] = result
                if on_result:
                    on_result(tasks[i], result)
    return results


def _run_ray(fn, tasks, workers, on_result):
    try:
        import ray
    except ImportError as exc:
        raise RdialError("--executor ray: Ray is not installed (pip install 'rdial[ray]')") from exc
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    remote = ray.remote(_call)
    refs = [remote.remote(fn, task) for task in tasks]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list = [None] * len(tasks)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i = index[done[0]]
        try:
            results[i] = ray.get(done[0])
        except Exception as exc:  # noqa: BLE001
            results[i] = TaskFailure(tasks[i], f"ray task failed: {exc}")
        if on_result:
            on_result(tasks[i], results[i])
    return results
