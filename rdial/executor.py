"""Run a stage's independent tasks on a local process pool, or on a Ray cluster.

    rdial build corpus --executor ray --workers 2            # a local Ray, 2 CPUs
    RAY_ADDRESS=head:6379 rdial build corpus --executor ray  # the cluster at head:6379

    results = run_tasks(extract_one, tasks, workers=4)              # local pool
    results = run_tasks(extract_one, tasks, workers=4, backend="ray")  # same code on Ray

A task is any picklable object; `fn(task)` runs in a worker and returns a picklable result.
Tasks are submitted in the order given (stages pass them largest first, so the long ones do not
finish last alone). A task that raises does not stop the others: its slot holds a `TaskFailure`
with the message, and the stage reports it and sets a non-zero exit status.

`workers=1` runs in-process (no pool): simplest to debug and what the tests use for exact output.
Workers use the "spawn" start method: forking a process that already runs Arrow/Polars thread
pools can deadlock.

Workers die with their parent and leave interruptions to it (`worker_pool`): on Linux each asks
the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), so a parent killed by the OOM
killer or `kill -9` leaves no 0.5 GB worker running on; each ignores SIGINT, so Ctrl-C (which the
terminal sends to the whole process group) reaches the parent alone, which stops the pool at once
(`terminate_pool`: queued tasks cancelled, running workers killed; a task publishes atomically, so
a rerun redoes it) and prints one line. `interrupt_on_sigterm()` makes SIGTERM the same
interruption as Ctrl-C: every stage exits 130 either way.

Ray (`pip install 'rdial[ray]'`; extract, build and filter take `--executor ray`):
- Without RAY_ADDRESS a stage starts a private local Ray for its run: `--workers` CPUs, a 256 MB
  object store (tasks pass paths and small stats, never data), no dashboard. Starting and
  stopping it costs ~3-5 s a command, and every task ~1.5 ms, so on one machine it is slower
  than the local pool; it is the way to try the cluster path. Ray runs its workers at nice 15.
- With RAY_ADDRESS (`host:port` of the head, `auto` on a cluster node, `ray://host:10001` for Ray
  Client) the stage joins that cluster; `--workers` is then ignored: each task asks for one CPU
  and Ray runs as many at once as the cluster has CPUs (memory: one input or bucket per CPU).
  An address where nothing answers fails in seconds (exit 2) before the stage changes anything.
  Each node needs: the driver's Python minor version and Ray version; rdial's dependencies
  (pyarrow, polars, zstandard, orjson, numpy; what `pip install rdial` pulls); and the dumps and
  the corpus on a shared file system at the same path as on the driver (tasks carry paths;
  relative ones are resolved against the driver's working directory). rdial itself need not be
  installed there: the job ships the driver's own `rdial` package (runtime_env py_modules), so
  every node runs exactly the driver's code. The corpus lock is held by the driver.
- A worker or node that is lost is retried (RAY_TASK_RETRIES, tasks publish atomically so a rerun
  of one is harmless); a task that raises is not retried, it is a TaskFailure. A task that Ray
  cannot run at all (its code does not import on the node, the worker crashed every time)
  becomes `TaskFailure(task, "ray: <Error>: <first line>")`, and the others go on.
- Ctrl-C cancels the queued and running tasks (ray.cancel force), the stage exits 130, and a
  rerun ends identical to an uninterrupted run, as with the local pool.
- A session the caller started (`ray.init(...)` before calling a stage's Python API) is used as
  it is; `start_backend("ray", workers=N)` connects early so a stage fails before writing.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue
import re
import signal
import socket
import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

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


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """In a child process: be killed (SIGKILL) when the parent dies. Linux only; elsewhere a
    no-op. The signal follows the thread that started the child, so pools are started from the
    stage's main thread (run_tasks' caller), which outlives them."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(1)


def _worker_init(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A spawn process pool whose workers die with this process and ignore Ctrl-C (see the
    module docstring). Every process pool in rdial is made here or with `worker_init_args`."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               **worker_init_args())


def worker_init_args() -> dict:
    """initializer/initargs for a ProcessPoolExecutor made elsewhere (same guarantees)."""
    return {"initializer": _worker_init, "initargs": (os.getpid(),)}


def terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Stop `pool` now: cancel what is queued, kill the workers (they ignore SIGINT, and a task
    can run for minutes), and reap them so no zombie or traceback is left."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_on_sigterm() -> None:
    """SIGTERM (systemd, timeout, kill) raises KeyboardInterrupt in the main thread, as Ctrl-C
    does: the stage stops the same way and the command exits 130, not 143. Main thread only."""
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, _raise_interrupt)


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
    pool = worker_pool(min(workers, len(tasks)))
    try:
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
    except BaseException:  # Ctrl-C, SIGTERM, a failing on_result: do not wait for running tasks
        terminate_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results


@contextlib.contextmanager
def task_queue(backend: str, *, workers: int, tasks: int) -> Iterator[Any]:
    """A queue that running tasks put small messages into (progress deltas) and the parent
    reads while run_tasks waits, on whichever backend run_tasks will use for these arguments:
    a plain queue in-process, a spawn Manager's queue for the pool, a Ray queue actor on Ray.
    Put it in the tasks; read it with get(timeout=...) / get_nowait(), which raise queue.Empty.
    """
    if backend == "ray":
        _ray_session(workers)
        from ray.util.queue import Queue

        updates = Queue(actor_options={"num_cpus": 0})  # holds no CPU a task could use
        try:
            yield updates
        finally:
            updates.shutdown()
    elif workers <= 1 or tasks <= 1:
        yield queue.Queue()
    else:
        from multiprocessing.managers import SyncManager

        manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
        manager.start(**worker_init_args())  # dies with this process, like the workers
        try:
            yield manager.Queue()
        finally:
            manager.shutdown()


def start_backend(backend: str, *, workers: int = 1) -> None:
    """Connect to (or start) Ray now, before a stage changes anything, so a wrong RAY_ADDRESS
    or a missing Ray fails at once; run_tasks then uses that session. Local needs nothing."""
    if backend == "ray":
        _ray_session(workers)
    elif backend != "local":
        raise RdialError(f"--executor: unknown backend {backend!r} (choose local or ray)")


LOCAL_RAY_OBJECT_STORE = 256 * 1024 * 1024  # tasks exchange paths and small stats, not data
# A task whose worker or node is lost is run again (tasks are idempotent: they publish atomically);
# an exception in the task is not retried, it is the task's result.
RAY_TASK_RETRIES = 3


def _run_ray(fn, tasks, workers, on_result):
    if not tasks:
        return []
    ray = _ray_session(workers)
    remote = ray.remote(num_cpus=1, max_retries=RAY_TASK_RETRIES)(_call_in)
    fn_ref = ray.put(fn)  # stored once: a fn with bound state (a partial) does not travel per task
    cwd = os.getcwd()
    refs = [remote.remote(cwd, fn_ref, task) for task in tasks]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list = [None] * len(tasks)
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = index[done[0]]
            try:
                results[i] = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - worker died, node lost, task not importable there
                results[i] = TaskFailure(tasks[i], f"ray: {_first_line(getattr(exc, 'cause', None) or exc)}")
            if on_result:
                on_result(tasks[i], results[i])
    except BaseException:  # Ctrl-C or a failing on_result: stop the tasks still queued or running
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return results


def _ray_session(workers: int):
    """Connect to the cluster at RAY_ADDRESS, or start a local Ray sized to `workers`.

    A session the caller started (ray.init before run_tasks) is used as it is.
    """
    try:
        import ray
    except ImportError as exc:
        raise RdialError("--executor ray: Ray is not installed (pip install 'rdial[ray]')") from exc
    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS")
    try:
        if address:  # the cluster's nodes run this very rdial, shipped with the job
            import rdial

            _check_reachable(address)
            ray.init(address=address, runtime_env={"py_modules": [rdial]},
                     logging_level=logging.WARNING)
        else:  # a private Ray for this run: its start-up notices (token auth, ...) are noise
            ray.init(num_cpus=max(1, workers), object_store_memory=LOCAL_RAY_OBJECT_STORE,
                     include_dashboard=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"RAY_ADDRESS={address}" if address else "a local Ray"
        raise RdialError(f"--executor ray: cannot start {where}: {_first_line(exc)}") from exc
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minutes of retries, when host:port does not answer."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "ray://...": Ray resolves these itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise RdialError(f"--executor ray: RAY_ADDRESS={address}: no Ray cluster answers there "
                         f"({exc.strerror or exc})") from exc


def _call_in(cwd: str, fn, task):
    """`_call` in a Ray worker. Relative paths in tasks mean the driver's directory: a node that
    mounts the same file system at the same place resolves them the same way."""
    if os.getcwd() != cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    return _call(fn, task)


def _first_line(exc: BaseException) -> str:
    """`Type: first line`, without the colours Ray puts in its messages."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
