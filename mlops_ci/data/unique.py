"""Exact uniqueness over more rows than fit in memory.

Each value becomes a 64-bit hash. A batch's hashes are grouped by their top bits and
appended to one spill file as a run; finding repeats then reads one group (a partition) at
a time, gathered from every run, so memory holds a partition, not the column. A repeated
hash is only a suspect: a second read of the column compares the values themselves, so a
hash collision never fails a data set.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from mlops_ci.data import kernels
from mlops_ci.data.kernels import Hashes
from mlops_ci.data.worker import OrderedWorker

PARTITION_BITS = 6
_PARTITIONS = 1 << PARTITION_BITS
# Suspects compared value by value; past this many, the count comes from the hashes alone
# (a 64-bit collision among that many real repeats is beyond unlikely).
MAX_SUSPECTS = 100_000


@dataclass(frozen=True)
class _Run:
    """One batch's hashes in the spill file: partition p is bytes
    ``start + 8 * bounds[p]`` to ``start + 8 * bounds[p + 1]``."""

    start: int
    bounds: npt.NDArray[np.int64]


class HashSpill:
    """The hashes of one column, spilled to a file in partitioned runs.

    The work happens on a thread of its own (hashing, partitioning and the file write let
    go of the GIL), at most two batches behind the reader, so memory stays bounded."""

    def __init__(self, folder: Path) -> None:
        # A seed of each run's own: data cannot be made to collide on purpose (a flood of
        # suspects, or one overfull partition) without knowing it.
        self.seed = secrets.randbits(64)
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / "hashes.u64"
        self._file = self._path.open("w+b", buffering=0)
        self._size = 0
        self._runs: list[_Run] = []
        # Reused from batch to batch (the worker does one at a time): fresh arrays would
        # fault in their pages anew for every batch.
        self._hashes: Hashes = np.empty(0, np.uint64)
        self._ordered: Hashes = np.empty(0, np.uint64)
        self._worker = OrderedWorker("unique")

    def add(self, values: pl.Series) -> None:
        self._worker.submit(self._add, values)

    def close(self) -> None:
        """Waits for the work in hand (its errors are the caller's), stops the thread and
        removes the spill file; safe to call again."""
        try:
            self._worker.close()
        finally:
            if not self._file.closed:
                self._file.close()
                self._path.unlink(missing_ok=True)

    def repeated(self) -> tuple[int, Hashes]:
        """How many values repeat an earlier one (by hash), and the repeated hashes (at most
        MAX_SUSPECTS of them). Two partitions are counted at a time."""
        self._worker.drain()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlops-ci-repeats") as pool:
            found = list(pool.map(self._repeats, range(_PARTITIONS)))
        count = sum(repeats for repeats, _ in found)
        suspects = np.concatenate([hashes for _, hashes in found])[:MAX_SUSPECTS]
        return count, suspects

    def _add(self, values: pl.Series) -> None:
        if len(self._hashes) < len(values):
            self._hashes = np.empty(len(values), np.uint64)
            self._ordered = np.empty(len(values), np.uint64)
        hashes = kernels.hashes(values, self.seed, self._hashes)
        if not len(hashes):
            return
        ordered, bounds = kernels.partition(hashes, PARTITION_BITS, self._ordered)
        written = self._file.write(ordered.data.cast("B"))
        if written != ordered.nbytes:
            raise OSError(f"the spill file took {written} of {ordered.nbytes} bytes")
        self._runs.append(_Run(self._size, bounds))
        self._size += ordered.nbytes

    def _repeats(self, part: int) -> tuple[int, Hashes]:
        return kernels.repeats(self._load(part), MAX_SUSPECTS)

    def _load(self, part: int) -> Hashes:
        """Partition ``part``, gathered from every run (positional reads: no shared offset)."""
        sizes = [int(run.bounds[part + 1] - run.bounds[part]) for run in self._runs]
        hashes = np.empty(sum(sizes), np.uint64)
        view = hashes.data.cast("B")
        position = 0
        for run, size in zip(self._runs, sizes, strict=True):
            if not size:
                continue
            target = view[position * 8 : (position + size) * 8]
            offset = run.start + 8 * int(run.bounds[part])
            while len(target):
                got = os.preadv(self._file.fileno(), [target], offset)
                if got <= 0:
                    raise OSError(f"the spill file ended at byte {offset}")
                target, offset = target[got:], offset + got
            position += size
        return hashes


@dataclass
class Repeats:
    """The rows that repeat an earlier row's value: a count and the first few row numbers."""

    count: int
    rows: list[int]
    confirmed: bool


class RepeatFinder:
    """The second read: rows whose hash is a suspect, compared by value."""

    def __init__(self, suspects: Hashes, hashed_count: int, keep: int, seed: int) -> None:
        self._suspects = suspects
        self._seed = seed
        self._every_suspect = len(suspects) < MAX_SUSPECTS
        self._hashed_count = hashed_count
        self._keep = keep
        self._seen: set[object] = set()
        self._count = 0
        self._rows: list[int] = []

    def add(self, column: pl.Series, offset: int) -> None:
        present = column.is_not_null().arg_true().to_numpy()
        suspect = np.isin(kernels.hashes(column, self._seed), self._suspects)
        rows = present[suspect]
        for row, value in zip(rows, column.gather(rows), strict=True):
            if value in self._seen:
                self._count += 1
                if len(self._rows) < self._keep:
                    self._rows.append(offset + int(row) + 1)
            else:
                self._seen.add(value)

    def result(self) -> Repeats:
        if self._every_suspect:
            return Repeats(self._count, self._rows, True)
        return Repeats(max(self._count, self._hashed_count), self._rows, False)
