"""Work handed to a thread of its own, done in the order given, never far behind.

Polars, numpy and the byte scans let go of the GIL (or hold it only briefly), so a batch's
slower checks can run while the reader parses the next one. At most ``ahead`` tasks wait, so
memory stays bounded; the first error comes back on the next ``submit`` or on ``drain``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class OrderedWorker:
    def __init__(self, name: str, ahead: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mlops-ci-{name}")
        self._pending: deque[Future[None]] = deque()
        self._ahead = ahead

    def submit(self, task: Callable[..., None], *arguments: Any) -> None:
        while len(self._pending) >= self._ahead:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(task, *arguments))

    def drain(self) -> None:
        """Waits for every task; raises the first error."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Drains, then stops the thread (also when a task failed)."""
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
