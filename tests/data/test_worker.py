"""The ordered worker: tasks in the order given, errors back to the caller."""

from __future__ import annotations

import pytest

from mlops_ci.data.worker import OrderedWorker


def test_tasks_run_in_order_and_errors_come_back() -> None:
    done: list[int] = []
    worker = OrderedWorker("test", ahead=2)
    for number in range(20):
        worker.submit(done.append, number)
    worker.drain()
    assert done == list(range(20))

    def fail() -> None:
        raise ValueError("broken batch")

    worker.submit(fail)
    with pytest.raises(ValueError, match="broken batch"):
        worker.close()
    with pytest.raises(RuntimeError):
        worker.submit(done.append, 99)  # closed
