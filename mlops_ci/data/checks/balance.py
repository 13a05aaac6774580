"""``balance``: every class's share of the rows, overall and within each value of each
``sensitive`` column, counted per batch by one bincount over the columns' codes.

A numeric column with ``bins`` (a regression target) has quantile bins for classes: its
values are read first, on their own, and cut at their "lower" quantiles i/bins (the value at
0-based rank floor(i * (n - 1) / bins) of the sorted values), so every engine cuts at the
same values; a value v is in the bin whose range [low, high) holds it (the last is closed)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from mlops_ci.core.pii import shown
from mlops_ci.data import kernels
from mlops_ci.data.checks.base import Aggregate, AggregateKind, BatchView, Setup
from mlops_ci.data.checks.outcome import CheckOutcome, number_text, percent
from mlops_ci.data.checks.rows import codable
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.reader import Table
from mlops_ci.manifest.model import BalanceCheck

_MAX_GROUPS = 100_000
_MAX_CELLS = 1 << 20  # a bincount of at most 8 MiB

Counts = list[tuple[tuple[object, ...], int]]


class Balance(AggregateKind):
    key = "balance"

    def aggregate(self, setup: Setup) -> Aggregate | None:
        balance = setup.checks.balance
        return None if balance is None else _Balance(setup.table, balance)


@dataclass(frozen=True, repr=False)
class QuantileBin:
    """One class of a binned column: the values from ``low`` up to ``high``."""

    low: float
    high: float
    last: bool  # the last bin holds its high end too

    def __repr__(self) -> str:
        return f"[{number_text(self.low)}, {number_text(self.high)}{']' if self.last else ')'}"


def edge_ranks(count: int, bins: int) -> list[int]:
    """The 0-based ranks of the smallest value, each cut and the largest, among ``count``."""
    return [i * (count - 1) // bins for i in range(bins + 1)]


def quantile_bins(edges: list[float]) -> tuple[list[float], list[QuantileBin]]:
    """The cuts inside the range (each distinct, none at the smallest value: a bin is never
    empty) and the bins they make, from the values at ``edge_ranks``."""
    low, high = edges[0], edges[-1]
    cuts = sorted({e for e in edges[1:-1] if e > low})
    bounds = [low, *cuts, high]
    made = [
        QuantileBin(a, b, last=i == len(bounds) - 2)
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]
    return cuts, made or [QuantileBin(low, high, last=True)]


def check_binnable(name: str, column: str, kind: pl.DataType) -> None:
    """Refuses bins of a column that is not numeric (``name``: how messages call the data)."""
    if not kind.is_numeric():
        raise DataFileError(
            f"{name}: checks.balance.bins needs a numeric column, and {column!r} is {kind}; "
            "remove bins to balance its values as classes"
        )


def nothing_to_cut(name: str, column: str) -> DataFileError:
    return DataFileError(f"{name}: checks.balance.bins has no value of {column!r} to cut")


def column_bins(table: Table, column: str, bins: int) -> tuple[list[float], list[QuantileBin]]:
    """The bins of ``column``, from a read of that column alone (its values held in memory,
    eight bytes a row: exact quantiles need them)."""
    parts = [
        batch.get_column(column).drop_nulls().cast(pl.Float64).to_numpy()
        for batch in table.batches([column])
    ]
    ordered = np.sort(np.concatenate(parts)) if parts else np.empty(0)
    if not len(ordered):
        raise nothing_to_cut(table.name, column)
    return quantile_bins([float(ordered[r]) for r in edge_ranks(len(ordered), bins)])


def binned_counts(
    counts: Mapping[tuple[object, ...], int], made: list[QuantileBin]
) -> dict[tuple[object, ...], int]:
    """Counts keyed by bin number, keyed by the bins themselves."""
    found: dict[tuple[object, ...], int] = {}
    for key, count in counts.items():
        named = (made[int(key[0])], *key[1:])  # type: ignore[call-overload]
        found[named] = found.get(named, 0) + count
    return found


class _Balance:
    def __init__(self, table: Table, balance: BalanceCheck) -> None:
        self.table = table
        self.balance = balance
        self.columns = [balance.column, *balance.sensitive]
        self.counts: dict[tuple[object, ...], int] = {}
        self.cells: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self.schema = dict(table.schema)
        self.cuts: npt.NDArray[np.float64] | None = None
        self.bins: list[QuantileBin] = []
        if balance.bins is not None:
            check_binnable(table.name, balance.column, table.schema[balance.column])
            cuts, self.bins = column_bins(table, balance.column, balance.bins)
            self.cuts = np.asarray(cuts, np.float64)
            self.schema[balance.column] = pl.Int64()  # the bin's number is the class
        # The codes of a column no allowed-values check codes: the values seen so far
        # (None once there are too many to code).
        self.seen: dict[str, set[object] | None] = {
            column: set() for column in self.columns if codable(self.schema[column])
        }

    def add(self, batch: BatchView) -> None:
        if self.cuts is not None:
            batch = self._binned(batch, self.cuts)
        found = self._by_code(batch)
        if found is None:
            found = self._by_group(batch)
        for key, count in found:
            if key[0] is None:
                continue  # a row without a class is the labels check's business
            self.counts[key] = self.counts.get(key, 0) + count
        if len(self.counts) > _MAX_GROUPS:
            raise DataFileError(
                f"{self.table.name}: checks.balance counts more than {_MAX_GROUPS:,} "
                "combinations of its columns; name a column with few values (a class or a band)"
            )

    def _binned(self, batch: BatchView, cuts: npt.NDArray[np.float64]) -> BatchView:
        """The batch with each value of the column replaced by its bin's number."""
        column = self.balance.column
        values = batch.frame.get_column(column)
        numbers = np.searchsorted(cuts, values.cast(pl.Float64).to_numpy(), side="right")
        numbered = pl.lit(pl.Series(column, numbers, pl.Int64))
        frame = batch.frame.with_columns(
            pl.when(pl.col(column).is_not_null()).then(numbered).otherwise(None).alias(column)
        )
        coded = {c: v for c, v in batch.coded.items() if c != column}
        return BatchView(frame, batch.offset, coded, batch.only_allowed)

    def _by_code(self, batch: BatchView) -> Counts | None:
        """The combinations counted as cells of a table indexed by each column's code (one
        bincount); None when a column has no codes yet or a value outside them."""
        books: list[list[object]] = []
        height = batch.frame.height
        if len(self.cells) < height:
            self.cells = np.empty(height, np.uint32)
        cells = self.cells[:height]  # kept from batch to batch: a new array costs more
        cells.fill(0)
        for column in self.columns:
            if column in batch.coded:
                wanted, codes = batch.coded[column]
            else:
                seen = self.seen.get(column)
                if not seen:
                    return None
                wanted = pl.Series(sorted(seen, key=repr), dtype=self.schema[column])
                codes = kernels.codes(batch.frame.get_column(column), wanted)
            if codes.max(initial=0) == kernels.OTHER:
                return None
            book = [*wanted.to_list(), None]  # the last cell: missing
            books.append(book)
            if math.prod(len(b) for b in books) > _MAX_CELLS:
                return None
            # Codes run 0..len(wanted) - 1, and MISSING is larger: the minimum puts it last.
            cells *= len(book)
            cells += np.minimum(codes, len(book) - 1)
        counts = np.bincount(cells, minlength=1)
        found = []
        for cell in np.flatnonzero(counts):
            key: list[object] = []
            rest = int(cell)
            for book in reversed(books):
                rest, slot = divmod(rest, len(book))
                key.append(book[slot])
            found.append((tuple(reversed(key)), int(counts[cell])))
        return found

    def _by_group(self, batch: BatchView) -> Counts:
        """The combinations grouped by Polars; the values seen give the columns their codes."""
        groups = [
            (tuple(row[:-1]), int(row[-1]))
            for row in batch.frame.group_by(self.columns).len().iter_rows()
        ]
        for position, column in enumerate(self.columns):
            seen = self.seen.get(column)
            if seen is not None and column not in batch.coded:
                seen.update(key[position] for key, _ in groups if key[position] is not None)
                if len(seen) > kernels.MAX_CODES:
                    self.seen[column] = None
        return groups

    def outcomes(self, rows: int) -> list[CheckOutcome]:
        if self.bins:
            return balance_outcomes(self.balance, binned_counts(self.counts, self.bins))
        return balance_outcomes(self.balance, self.counts)

    def close(self) -> None:
        return None


def balance_outcomes(
    balance: BalanceCheck, counts: Mapping[tuple[object, ...], int]
) -> list[CheckOutcome]:
    """The smallest class's share overall and within each sensitive group, from the rows
    counted by (class, *sensitive values); rows without a class are not counted."""
    column = balance.column
    overall: dict[object, int] = {}
    for key, count in counts.items():
        overall[key[0]] = overall.get(key[0], 0) + count
    total = sum(overall.values())
    noun = "class" if balance.bins is None else "bin"
    found = [_smallest_share(overall, total, balance.min_share, column, "", noun)]
    for position, sensitive in enumerate(balance.sensitive, start=1):
        groups: dict[object, dict[object, int]] = {}
        for key, count in counts.items():
            classes = groups.setdefault(key[position], dict.fromkeys(overall, 0))
            classes[key[0]] += count
        worst = min(
            (
                _smallest_share(
                    classes,
                    sum(classes.values()),
                    balance.min_share,
                    column,
                    f" where {sensitive} = {shown(group)}",
                    noun,
                )
                for group, classes in groups.items()
            ),
            key=lambda outcome: (outcome.value, outcome.message),  # a tie: by its sentence
            default=None,
        )
        if worst is not None:
            found.append(
                CheckOutcome(
                    f"balance within {sensitive}",
                    column,
                    "min",
                    worst.threshold,
                    worst.value,
                    worst.message,
                )
            )
    return found


def _smallest_share(  # noqa: PLR0917 - one sentence's parts
    classes: Mapping[object, int],
    total: int,
    min_share: float,
    column: str,
    where: str,
    noun: str,
) -> CheckOutcome:
    if not total:
        return CheckOutcome(
            "balance", column, "min", min_share, 0.0, f"no rows with a class in {column!r}{where}"
        )
    smallest, count = min(classes.items(), key=lambda item: (item[1], str(item[0])))
    share = count / total
    return CheckOutcome(
        "balance",
        column,
        "min",
        min_share,
        share,
        f"{noun} {shown(smallest)} of {column!r} holds {percent(share)} of the rows{where}; "
        f"each {noun} needs at least {percent(min_share)}",
    )
