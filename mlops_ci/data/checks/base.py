"""What every data check is: a kind keyed by its manifest key (``data[].checks.<key>``)
that gives the scan either row checks (a mask per batch, counted by the scan) or an
aggregate (state kept across batches), and what a batch shows the aggregates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from mlops_ci.data import kernels
from mlops_ci.data.checks.outcome import CheckOutcome, rows_text
from mlops_ci.data.reader import Table
from mlops_ci.manifest.model import DataChecks, Scalar


@dataclass(frozen=True)
class Setup:
    """What a check is made from: the table's schema, the data set's checks, its label,
    and a folder for what does not fit in memory."""

    table: Table
    checks: DataChecks
    label: str | None
    spill: Path

    @property
    def schema(self) -> Mapping[str, pl.DataType]:
        return self.table.schema


@dataclass
class Offenders:
    """A count and the first row numbers of one row check."""

    count: int = 0
    rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class RowCheck:
    """A check of each row on its own: ``violation`` is true where a row breaks it."""

    check: str
    column: str
    violation: pl.Expr
    outcome: Callable[[Offenders, int], CheckOutcome]  # the offenders and the table's rows
    allowed: Sequence[Scalar] | None = None
    # A cheaper test that a batch has no offender (True) or may have (False).
    clean: Callable[[pl.DataFrame], bool] | None = None
    # The allowed values as the column's type, when the check counts the column's codes
    # (kernels.codes: OTHER is an offender) rather than its violation mask.
    wanted: pl.Series | None = None


def counted_outcome(
    check: str, column: str, failed: str, passed: str
) -> Callable[[Offenders, int], CheckOutcome]:
    """A row check's outcome: no offender allowed; ``failed`` has ``{count}``, ``{values}``,
    ``{labels}`` and ``{rows}`` to fill in."""

    def outcome(offenders: Offenders, rows: int) -> CheckOutcome:
        message = passed
        if offenders.count:
            many = offenders.count != 1
            message = failed.format(
                count=f"{offenders.count:,}",
                values="values" if many else "value",
                labels="labels" if many else "label",
                rows=rows_text(offenders.rows),
            )
        return CheckOutcome(
            check, column, "max", 0, offenders.count, message, tuple(offenders.rows)
        )

    return outcome


@dataclass(frozen=True)
class BatchView:
    """One batch as the aggregates see it, with what the row checks learnt of it."""

    frame: pl.DataFrame
    offset: int  # the rows before it
    # The columns counted by codes (their allowed values): column -> (values, codes).
    coded: Mapping[str, tuple[pl.Series, kernels.Codes]]
    # The columns that hold only their allowed values in this batch, and those values.
    only_allowed: Mapping[str, Sequence[Scalar]]


class Aggregate(Protocol):
    def add(self, batch: BatchView) -> None: ...
    def outcomes(self, rows: int) -> list[CheckOutcome]: ...
    def close(self) -> None: ...


class CheckKind(Protocol):
    """One manifest key's checks."""

    key: str

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        """The row checks of this key (none for an aggregate)."""
        ...

    def aggregate(self, setup: Setup) -> Aggregate | None:
        """The aggregate of this key, when it has one and the manifest asks for it."""
        ...


class RowKind:
    """A kind made only of row checks."""

    key = ""

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        raise NotImplementedError

    def aggregate(self, setup: Setup) -> Aggregate | None:
        return None


class AggregateKind:
    """A kind made only of an aggregate."""

    key = ""

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        return []

    def aggregate(self, setup: Setup) -> Aggregate | None:
        raise NotImplementedError
