"""The aggregates that count: ``min_rows`` and ``unique`` (exact: values hashed to disk by
partition, repeats confirmed by value in a second read of the column)."""

from __future__ import annotations

from mlops_ci.data.checks.base import Aggregate, AggregateKind, BatchView, Setup
from mlops_ci.data.checks.outcome import ROWS_SHOWN, CheckOutcome, counted, rows_text
from mlops_ci.data.reader import Table
from mlops_ci.data.unique import HashSpill, RepeatFinder


class MinRows(AggregateKind):
    key = "min_rows"

    def aggregate(self, setup: Setup) -> Aggregate | None:
        least = setup.checks.min_rows
        return None if least is None else _MinRows(least)


class _MinRows:
    def __init__(self, least: int) -> None:
        self.least = least

    def add(self, batch: BatchView) -> None:
        return None  # the scan counts the rows

    def outcomes(self, rows: int) -> list[CheckOutcome]:
        message = f"{rows:,} rows; at least {self.least:,} needed"
        return [CheckOutcome("min_rows", None, "min", self.least, rows, message)]

    def close(self) -> None:
        return None


class Unique(AggregateKind):
    key = "unique"

    def aggregate(self, setup: Setup) -> Aggregate | None:
        if not setup.checks.unique:
            return None
        return _Unique(setup.table, setup)


class _Unique:
    def __init__(self, table: Table, setup: Setup) -> None:
        self.table = table
        self.spills = {
            column: HashSpill(setup.spill / f"{index}")
            for index, column in enumerate(setup.checks.unique)
        }

    def add(self, batch: BatchView) -> None:
        for column, spill in self.spills.items():
            spill.add(batch.frame.get_column(column))

    def outcomes(self, rows: int) -> list[CheckOutcome]:
        found = []
        for column, spill in self.spills.items():
            count, suspects = spill.repeated()
            shown: list[int] = []
            if count:
                finder = RepeatFinder(suspects, count, ROWS_SHOWN, spill.seed)
                offset = 0
                for batch in self.table.batches(columns=[column]):
                    finder.add(batch.get_column(column), offset)
                    offset += batch.height
                repeats = finder.result()
                count, shown = repeats.count, repeats.rows
            found.append(unique_outcome(column, count, shown))
        return found

    def close(self) -> None:
        for spill in self.spills.values():
            spill.close()


def unique_outcome(column: str, count: int, rows: list[int]) -> CheckOutcome:
    """``count`` values of ``column`` repeat an earlier row's, the first in ``rows``."""
    message = (
        f"{column!r} has {counted(count, 'value')} that repeat an earlier row's{rows_text(rows)}"
        if count
        else f"every value of {column!r} is distinct"
    )
    return CheckOutcome("unique", column, "max", 0, count, message, tuple(rows))
