"""An exclusive lock on a file, held for a ``with`` block: the processes of one machine
that write the same state (a records folder, a ledger, MLflow's store) take turns."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """Waits for the lock at ``path`` (made, with its folder, if missing) and holds it; the
    kernel lets go of it if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
