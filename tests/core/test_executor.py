import contextlib
import os
import queue
import sys

import pytest

from rdial import executor
from rdial.errors import RdialError
from rdial.executor import TaskFailure, run_tasks, start_backend


def square_or_fail(x):
    if x == 3:
        raise RdialError("task 3 is broken")
    if x == 4:
        raise ZeroDivisionError("bug")
    return x * x


def test_failures_do_not_stop_other_tasks_in_process():
    seen = []
    results = run_tasks(square_or_fail, [1, 2, 3, 4, 5], workers=1,
                        on_result=lambda t, r: seen.append(t))
    assert results[:2] == [1, 4] and results[4] == 25
    assert isinstance(results[2], TaskFailure) and results[2].message == "task 3 is broken"
    assert isinstance(results[3], TaskFailure) and results[3].message == "ZeroDivisionError: bug"
    assert seen == [1, 2, 3, 4, 5]


def test_process_pool_keeps_task_order():
    results = run_tasks(square_or_fail, [5, 1, 3, 2], workers=2)
    assert [r if not isinstance(r, TaskFailure) else "fail" for r in results] == [25, 1, "fail", 4]


def crash_on_two(x):
    if x == 2:
        os._exit(3)  # the worker process dies, as when the kernel kills it for memory
    return x


def test_ray_keeps_task_order_and_reports_failures(ray_session):
    seen = []
    results = run_tasks(square_or_fail, [5, 1, 3, 2, 4], workers=2, backend="ray",
                        on_result=lambda t, r: seen.append(t))
    assert results[0] == 25 and results[1] == 1 and results[3] == 4
    assert results[2] == TaskFailure(3, "task 3 is broken")
    assert results[4].task == 4 and results[4].message == "ZeroDivisionError: bug"
    assert "raise ZeroDivisionError(\"bug\")" in results[4].traceback
    assert sorted(seen) == [1, 2, 3, 4, 5]


def test_ray_gives_what_the_local_pool_gives(ray_session):
    tasks = [7, 3, 0, 12, 4, 9]
    local = run_tasks(square_or_fail, tasks, workers=2)
    ray = run_tasks(square_or_fail, tasks, workers=2, backend="ray")
    assert [r.message if isinstance(r, TaskFailure) else r for r in ray] == \
        [49, "task 3 is broken", 0, 144, "ZeroDivisionError: bug", 81]
    assert [(type(r), getattr(r, "message", r)) for r in ray] == \
        [(type(r), getattr(r, "message", r)) for r in local]


def test_ray_worker_that_dies_is_a_failure_and_the_others_finish(ray_session, monkeypatch):
    monkeypatch.setattr(executor, "RAY_TASK_RETRIES", 0)
    results = run_tasks(crash_on_two, [1, 2, 3], workers=2, backend="ray")
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], TaskFailure) and results[1].task == 2
    assert results[1].message.startswith("ray: WorkerCrashedError: ")


def test_ray_uses_the_session_already_started(ray_session):
    start_backend("ray", workers=1)  # connects to nothing new: the fixture's 2-CPU Ray stays
    assert ray_session.cluster_resources()["CPU"] == 2.0
    assert run_tasks(square_or_fail, [], workers=2, backend="ray") == []


def test_unknown_backend_names_the_flag():
    with pytest.raises(RdialError, match=r"^--executor: unknown backend 'dask' \(choose local or ray\)$"):
        start_backend("dask", workers=2)


def test_unreachable_ray_address_fails_at_once():
    with pytest.raises(RdialError, match=r"^--executor ray: RAY_ADDRESS=127\.0\.0\.1:1: no Ray cluster "
                                         r"answers there \(Connection refused\)$"):
        executor._check_reachable("127.0.0.1:1")
    executor._check_reachable("auto")  # Ray resolves these itself
    executor._check_reachable("ray://head:10001")


def count_to(task):
    """Puts 1..n into the task's queue, returns n."""
    updates, n = task
    for i in range(1, n + 1):
        updates.put(i)
    return n


def drain(updates) -> list:
    got = []
    with contextlib.suppress(queue.Empty):
        while True:
            got.append(updates.get_nowait())  # every put returned before its task did
    return got


@pytest.mark.parametrize("backend,workers", [("local", 1), ("local", 2), ("ray", 2)])
def test_task_queue_carries_messages_from_running_tasks(backend, workers, request):
    if backend == "ray":
        request.getfixturevalue("ray_session")
    with executor.task_queue(backend, workers=workers, tasks=3) as updates:
        results = run_tasks(count_to, [(updates, 3), (updates, 1), (updates, 2)],
                            workers=workers, backend=backend)
        assert results == [3, 1, 2]
        assert sorted(drain(updates)) == [1, 1, 1, 2, 2, 3]


def test_ray_missing_names_the_flag_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(RdialError, match=r"^--executor ray: Ray is not installed "
                                         r"\(pip install 'rdial\[ray\]'\)$"):
        start_backend("ray", workers=2)
