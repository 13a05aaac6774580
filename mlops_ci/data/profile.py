"""A data set's profile (core/drift.py) made in the checks' own streaming read: a uniform
sample of its rows, kept batch by batch, gives each column's quantiles or value shares.

The sample is a bottom-k one: every row draws a priority and the SAMPLE_ROWS smallest are
kept. Once the sample is full only rows under its largest priority can enter, so a batch
draws how many of its rows do (a binomial) and which, instead of a priority per row: after
the first batches that is a few hundred rows, and the cost of a profile stays small beside
the checks'. The generator has a fixed seed, so the same file gives the same profile.

A column's kind comes from its type: numbers are numeric; text, booleans and categories are
categorical when the sample holds at most MAX_CATEGORIES values (else other: identifiers,
free text; once the sample is full, such a column is no longer gathered). A value that
looks like personal data, or is long, is never written into the profile (records are in
git): it counts as other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import polars as pl

from mlops_ci.core.drift import OTHER, QUANTILE_POINTS, ColumnProfile, Profile
from mlops_ci.core.pii import found_kinds
from mlops_ci.core.settings import PiiKind
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.reader import open_table
from mlops_ci.manifest.data_semantics import data_format
from mlops_ci.manifest.model import ColumnType, DataFormat

SAMPLE_ROWS = 10_000
MAX_CATEGORIES = 50
_LONGEST_VALUE = 64
_PII: tuple[PiiKind, ...] = ("email", "phone", "ip_address", "card_number")
_SEED = 20


class Profiler:
    """The sample of one read; ``add`` each batch, then ``profile``."""

    def __init__(self, schema: Mapping[str, pl.DataType]) -> None:
        self.schema = dict(schema)
        self.columns = [c for c, kind in self.schema.items() if _kind(kind) != "other"]
        self.random = np.random.default_rng(_SEED)
        self.limit = 1.0  # the largest priority that can still enter the sample
        # The sample, and the rows that entered since it was last cut back to SAMPLE_ROWS
        # (cutting once per SAMPLE_ROWS rows that entered, not once a batch).
        self.kept: list[tuple[pl.DataFrame, npt.NDArray[np.float64]]] = []
        self.waiting = 0
        self.dropped: dict[str, float] = {}  # a column no longer gathered: its share of nulls

    def add(self, batch: pl.DataFrame) -> None:
        height = batch.height
        if not height or not self.columns:
            return
        if self.limit >= 1.0:  # the sample is not full: every row draws its priority
            priorities = self.random.uniform(0.0, 1.0, height)
            chosen = np.arange(height)
            if height > SAMPLE_ROWS:  # only the smallest can stay
                chosen = np.sort(np.argpartition(priorities, SAMPLE_ROWS)[:SAMPLE_ROWS])
                priorities = priorities[chosen]
        else:
            count = int(self.random.binomial(height, self.limit))
            if not count:
                return
            chosen = np.sort(self.random.choice(height, size=count, replace=False))
            priorities = self.random.uniform(0.0, self.limit, count)
        # A text value gathered still points into its batch's buffers, which would stay in
        # memory for the whole read: the rows that enter get text of their own.
        # One gather of the whole frame: a gather per column costs a query each.
        gathered = batch[chosen]
        entering = gathered.select(
            (pl.col(c) + "").alias(c) if gathered.schema[c] == pl.String else pl.col(c)
            for c in self.columns
        )
        self.kept.append((entering, priorities))
        self.waiting += len(chosen)
        if self.waiting >= SAMPLE_ROWS:
            self._cut()

    def _cut(self) -> None:
        """The sample and what entered since, cut back to the SAMPLE_ROWS smallest."""
        if len(self.kept) > 1:
            frame = pl.concat([f for f, _ in self.kept])
            priorities = np.concatenate([p for _, p in self.kept])
        else:
            frame, priorities = self.kept[0] if self.kept else (pl.DataFrame(), np.empty(0))
        if len(priorities) >= SAMPLE_ROWS:
            smallest = np.sort(np.argpartition(priorities, SAMPLE_ROWS - 1)[:SAMPLE_ROWS])
            frame, priorities = frame[smallest], priorities[smallest]
            self.limit = float(priorities.max())
        self.kept = [(frame, priorities)] if len(priorities) else []
        self.waiting = 0
        # A text column with more values than a category has in a full sample is an
        # identifier or free text (other): it is no longer gathered, the costliest to gather.
        if self.limit < 1.0:
            many = [
                c
                for c in self.columns
                if _kind(self.schema[c]) == "categorical"
                and frame.get_column(c).n_unique() > MAX_CATEGORIES + 1  # + 1: null
            ]
            if many:
                self.dropped.update(
                    {c: frame.get_column(c).null_count() / frame.height for c in many}
                )
                self.columns = [c for c in self.columns if c not in many]
                self.kept = [(frame.drop(many), priorities)]

    def profile(self, rows: int) -> Profile:
        self._cut()
        sample = self.kept[0][0] if self.kept else pl.DataFrame()
        columns = {
            name: _column(sample.get_column(name), _kind(kind))
            if name in sample.columns
            else ColumnProfile("other", _rounded(self.dropped.get(name, 0.0)))
            for name, kind in self.schema.items()
        }
        return Profile(rows=rows, sampled=sample.height, columns=columns)


def profile_file(path: Path, shown: str, declared: Mapping[str, ColumnType]) -> Profile:
    """The profile of a data file on its own (production's features, say), its format
    from its name, its columns typed as ``declared`` (the training data set's
    checks.columns) where it has them."""
    file_format = data_format(path.name, None)
    if file_format is None:
        raise DataFileError(
            f"{shown}: its format is not known from its name; name it .csv, .parquet or .jsonl"
        )
    known = cast(DataFormat, file_format)
    with open_table(path, shown, known, {}) as untyped:
        present = {c: kind for c, kind in declared.items() if c in untyped.schema}
    with open_table(path, shown, known, present) as table:
        profiler = Profiler(table.schema)
        rows = 0
        for batch in table.batches():
            profiler.add(batch)
            rows += batch.height
    return profiler.profile(rows)


def _kind(kind: pl.DataType) -> str:
    if kind.is_numeric():
        return "numeric"
    if kind in (pl.String, pl.Boolean) or isinstance(kind, pl.Categorical | pl.Enum):
        return "categorical"
    return "other"


def _column(values: pl.Series, kind: str) -> ColumnProfile:
    nulls = values.null_count() / len(values) if len(values) else 0.0
    present = values.drop_nulls()
    if kind == "numeric":
        numbers = present.cast(pl.Float64).to_numpy()
        numbers = np.sort(numbers[np.isfinite(numbers)])  # the mean in one order, everywhere
        if not len(numbers):
            return ColumnProfile("other", nulls)
        points = np.quantile(numbers, np.linspace(0.0, 1.0, QUANTILE_POINTS))
        return ColumnProfile(
            "numeric",
            nulls,
            tuple(_rounded(float(q)) for q in points),
            _rounded(float(numbers.mean())),
            _rounded(float(numbers.std())),
        )
    counts = present.cast(pl.String).value_counts(sort=True)
    if counts.height > MAX_CATEGORIES or not len(present):
        return ColumnProfile("other", nulls)
    shares: list[tuple[str, float]] = []
    other = 0
    for value, count in counts.iter_rows():
        if len(value) > _LONGEST_VALUE or found_kinds(value, _PII):
            other += count
        else:
            shares.append((value, _rounded(count / len(present))))
    shares.sort()
    return ColumnProfile(
        "categorical", nulls, shares=(*shares, (OTHER, _rounded(other / len(present))))
    )


def _rounded(value: float) -> float:
    """Six significant digits: what a sample of SAMPLE_ROWS can tell, and a record that
    reads well in a diff."""
    if not value or not math.isfinite(value):
        return value
    return float(f"{value:.6g}")
