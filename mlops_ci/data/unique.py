"""Exact uniqueness over more rows than fit in memory.

Each value becomes a 64-bit hash; hashes go to partition files on disk by their top bits, so
finding repeats needs one partition in memory at a time. A repeated hash is only a suspect:
a second read of the column compares the values themselves, so a hash collision never fails
a data set.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mlops_ci.data import kernels
from mlops_ci.data.kernels import Hashes
from mlops_ci.data.worker import OrderedWorker

PARTITION_BITS = 6
_PARTITIONS = 1 << PARTITION_BITS
_FLUSH_BYTES = 1 << 20
# Suspects compared value by value; past this many, the count comes from the hashes alone
# (a 64-bit collision among that many real repeats is beyond unlikely).
MAX_SUSPECTS = 100_000


class HashSpill:
    """The hashes of one column, partitioned on disk.

    The work happens on a thread of its own (hashing, numpy and file writes let go of the
    GIL), at most two batches behind the reader, so memory stays bounded."""

    def __init__(self, folder: Path) -> None:
        # A seed of each run's own: data cannot be made to collide on purpose (a flood of
        # suspects, or one overfull partition) without knowing it.
        self.seed = secrets.randbits(64)
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._buffers: list[list[Hashes]] = [[] for _ in range(_PARTITIONS)]
        self._buffered = [0] * _PARTITIONS
        self._worker = OrderedWorker("unique")

    def add(self, values: pl.Series) -> None:
        self._worker.submit(self._add, values)

    def close(self) -> None:
        """Waits for the work in hand (its errors are the caller's) and stops the thread."""
        self._worker.close()

    def _add(self, values: pl.Series) -> None:
        hashes = kernels.hashes(values, self.seed)
        if not len(hashes):
            return
        ordered, bounds = kernels.partition(hashes, PARTITION_BITS)
        for part in range(_PARTITIONS):
            start, end = bounds[part], bounds[part + 1]
            if start == end:
                continue
            self._buffers[part].append(ordered[start:end])
            self._buffered[part] += int(end - start) * 8
            if self._buffered[part] >= _FLUSH_BYTES:
                self._flush(part)

    def repeated(self) -> tuple[int, Hashes]:
        """How many values repeat an earlier one (by hash), and the repeated hashes (at most
        MAX_SUSPECTS of them)."""
        self.close()
        count = 0
        suspects: list[Hashes] = []
        kept = 0
        for part in range(_PARTITIONS):
            repeats, found = kernels.repeats(self._load(part), MAX_SUSPECTS - kept)
            count += repeats
            if len(found):
                suspects.append(found)
                kept += len(found)
        joined = np.concatenate(suspects) if suspects else np.empty(0, np.uint64)
        return count, joined

    def _flush(self, part: int) -> None:
        if not self._buffers[part]:
            return
        with self._file(part).open("ab") as handle:
            for chunk in self._buffers[part]:
                handle.write(chunk.tobytes())
        self._buffers[part] = []
        self._buffered[part] = 0

    def _load(self, part: int) -> Hashes:
        self._flush(part)
        path = self._file(part)
        if not path.exists():
            return np.empty(0, np.uint64)
        hashes = np.fromfile(path, dtype=np.uint64)
        path.unlink()
        return hashes

    def _file(self, part: int) -> Path:
        return self._folder / f"{part:02x}.u64"


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
