from rdial.errors import RdialError
from rdial.executor import TaskFailure, run_tasks


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
