"""Every check of ``data[].checks`` as SQL that an engine runs where the data are: one
aggregate query for every count, then, only for a check that failed, one query for its first
rows. The SQL is built once as sqlglot expressions and written in each engine's dialect, so
DuckDB and Spark run the same checks; the outcomes and their sentences are the local scan's
own (the check kinds give them), so every engine says the same thing of the same data.

A source is two views the engine holds: ``SOURCE`` (the rows) and ``NUMBERED`` (the rows
with ``ROW``, their 1-based number in the file's order), which only failed checks read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import sqlglot.expressions as exp

from mlops_ci.core.drift import Profile
from mlops_ci.core.pii import HEX_DIGEST, found_kinds, prefilter
from mlops_ci.core.settings import Bounds, PiiKind
from mlops_ci.data.checks.balance import (
    Balance,
    QuantileBin,
    balance_outcomes,
    binned_counts,
    check_binnable,
    edge_ranks,
    nothing_to_cut,
    quantile_bins,
)
from mlops_ci.data.checks.base import Offenders, RowCheck, Setup
from mlops_ci.data.checks.counts import MinRows, Unique, unique_outcome
from mlops_ci.data.checks.outcome import ROWS_SHOWN, CheckOutcome
from mlops_ci.data.checks.pii import ForbiddenPii, PiiFinds, pii_outcomes
from mlops_ci.data.checks.registry import CHECKS
from mlops_ci.data.checks.rows import typed
from mlops_ci.data.checks.scan import typed_columns
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.profile import SAMPLE_ROWS, Profiler
from mlops_ci.data.reader import Table, check_declared
from mlops_ci.manifest.model import DataChecks, DataFormat, Scalar

SOURCE = "mlops_ci_source"
NUMBERED = "mlops_ci_numbered"
ROW = "mlops_ci_row"
_MAX_GROUPS = 100_000


class SqlSource(Protocol):
    """A data set an engine holds, as the views SOURCE and NUMBERED."""

    dialect: str  # sqlglot's name for the engine's SQL
    name: str  # how messages name the data set

    def schema(self) -> Mapping[str, pl.DataType]:
        """The columns of SOURCE, as the local reader would type them."""
        ...

    def rows(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows ``sql`` selects, streamed; an engine's error as a DataFileError."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Counts:
    """What the checks found: the rows, and each check's count of offenders."""

    rows: int
    offenders: Mapping[str, int]


def check_source(
    source: SqlSource, file_format: DataFormat, checks: DataChecks, label: str | None
) -> tuple[int, list[CheckOutcome]]:
    """The rows of ``source`` and every check's outcome, in the local scan's order."""
    schema = source.schema()
    check_declared(source.name, schema, dict(checks.columns))
    table = Table(source.name, Path(), file_format, schema, dict(checks.columns))
    setup = Setup(table, checks, label, Path())
    run = _Run(source, schema, checks)
    row_checks = [check for kind in CHECKS for check in kind.row_checks(setup)]
    counts = run.counts(row_checks)
    if not counts.rows:
        raise DataFileError(f"{source.name} has columns but no rows; a data set needs rows")
    outcomes = typed_columns(checks)
    for kind in CHECKS:
        for check in kind.row_checks(setup):
            count = counts.offenders[_key(check)]
            rows = run.first_rows(_violation(check, schema, checks)) if count else []
            outcomes.append(check.outcome(Offenders(count, rows), counts.rows))
        # Each aggregate as SQL; min_rows needs nothing but the count.
        if isinstance(kind, MinRows):
            aggregate = kind.aggregate(setup)
            outcomes += aggregate.outcomes(counts.rows) if aggregate is not None else []
        elif isinstance(kind, Unique):
            for column in checks.unique:
                count = counts.offenders[f"unique {column}"]
                rows = run.repeated_rows(column) if count else []
                outcomes.append(unique_outcome(column, count, rows))
        elif isinstance(kind, Balance) and checks.balance is not None:
            outcomes += balance_outcomes(checks.balance, run.balance_counts())
        elif isinstance(kind, ForbiddenPii) and checks.pii is not None and checks.pii.forbid:
            outcomes += pii_outcomes(run.pii_finds(checks.pii.forbid, set(checks.pii.hashed)))
        elif kind.aggregate(setup) is not None:
            raise DataFileError(f"checks.{kind.key} has no SQL form; check it with engine: local")
    return counts.rows, outcomes


def profile_source(source: SqlSource, rows: int) -> Profile:
    """The profile of ``source`` from the local profiler, fed a sample the engine draws:
    the rows whose numbers hash lowest (deterministic, and spread over the whole file)."""
    profiler = Profiler(source.schema())
    if profiler.columns:
        columns = [_column(c) for c in profiler.columns]
        order = exp.Anonymous(this="hash", expressions=[_column(ROW)])
        query = exp.select(*columns).from_(NUMBERED).order_by(order).limit(SAMPLE_ROWS)
        found = list(source.rows(query.sql(dialect=source.dialect)))
        schema = {c: source.schema()[c] for c in profiler.columns}
        profiler.add(pl.DataFrame(found, schema=schema, orient="row"))
    return profiler.profile(rows)


def _bin_number(value: exp.Expr, cuts: Sequence[float]) -> exp.Expr:
    """The number of the bin that holds ``value``: how many cuts are at or below it."""
    if not cuts:
        return _zero()
    case = exp.Case()
    for number, cut in enumerate(cuts):
        below = exp.LT(this=exp.cast(value, exp.DataType.Type.DOUBLE), expression=_float(cut))
        case = case.when(below, exp.Literal.number(number))
    return case.else_(exp.Literal.number(len(cuts)))


def _key(check: RowCheck) -> str:
    return f"{check.check} {check.column}"


class _Run:
    """The queries of one data set, written in its engine's dialect."""

    def __init__(
        self, source: SqlSource, schema: Mapping[str, pl.DataType], checks: DataChecks
    ) -> None:
        self.source = source
        self.schema = schema
        self.checks = checks

    def sql(self, query: exp.Expr) -> str:
        return query.sql(dialect=self.source.dialect)

    def counts(self, row_checks: Sequence[RowCheck]) -> Counts:
        names = ["rows"]
        # Every declared column is read, so a value not of its type fails here as it does
        # in the local read (an engine skips the columns no expression needs).
        selected: list[exp.Expr] = [exp.Count(this=exp.Star())]
        for declared, _ in self.checks.columns:
            selected.append(exp.Count(this=_column(declared)))
            names.append(f"declared {declared}")
        for check in row_checks:
            violation = _violation(check, self.schema, self.checks)
            selected.append(exp.Sum(this=exp.If(this=violation, true=_one(), false=_zero())))
            names.append(_key(check))
        for column in self.checks.unique:
            distinct = exp.Count(this=exp.Distinct(expressions=[_column(column)]))
            selected.append(exp.Sub(this=exp.Count(this=_column(column)), expression=distinct))
            names.append(f"unique {column}")
        query = exp.select(*selected).from_(SOURCE)
        found = next(self.source.rows(self.sql(query)))
        values = {name: int(value or 0) for name, value in zip(names, found, strict=True)}
        return Counts(values["rows"], values)

    def first_rows(self, violation: exp.Expr) -> list[int]:
        query = (
            exp.select(_column(ROW))
            .from_(NUMBERED)
            .where(violation)
            .order_by(_column(ROW))
            .limit(ROWS_SHOWN)
        )
        return [int(row[0]) for row in self.source.rows(self.sql(query))]

    def repeated_rows(self, column: str) -> list[int]:
        """The first rows whose value of ``column`` an earlier row holds."""
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=[_column(column)],
            order=exp.Order(expressions=[exp.Ordered(this=_column(ROW))]),
        )
        ranked = (
            exp.select(_column(ROW), exp.alias_(rank, "mlops_ci_rank"))
            .from_(NUMBERED)
            .where(exp.Not(this=exp.Is(this=_column(column), expression=exp.Null())))
            .subquery("ranked")
        )
        query = (
            exp.select(_column(ROW))
            .from_(ranked)
            .where(exp.GT(this=_column("mlops_ci_rank"), expression=_one()))
            .order_by(_column(ROW))
            .limit(ROWS_SHOWN)
        )
        return [int(row[0]) for row in self.source.rows(self.sql(query))]

    def balance_counts(self) -> dict[tuple[object, ...], int]:
        balance = self.checks.balance
        assert balance is not None  # noqa: S101 - the caller checked
        label = _column(balance.column)
        classes: exp.Expr = label
        made: list[QuantileBin] = []
        if balance.bins is not None:
            check_binnable(self.source.name, balance.column, self.schema[balance.column])
            cuts, made = quantile_bins(self._edges(balance.column, balance.bins))
            classes = _bin_number(label, cuts)
        sensitive = [_column(c) for c in balance.sensitive]
        query = (
            exp.select(
                exp.alias_(classes, "mlops_ci_class"), *sensitive, exp.Count(this=exp.Star())
            )
            .from_(SOURCE)
            .where(exp.Not(this=exp.Is(this=label, expression=exp.Null())))
            .group_by(_column("mlops_ci_class") if made else label, *sensitive)
            .limit(_MAX_GROUPS + 1)
        )
        counts = {tuple(row[:-1]): int(row[-1]) for row in self.source.rows(self.sql(query))}
        if len(counts) > _MAX_GROUPS:
            raise DataFileError(
                f"{self.source.name}: checks.balance counts more than {_MAX_GROUPS:,} "
                "combinations of its columns; name a column with few values (a class or a band)"
            )
        return binned_counts(counts, made) if made else counts

    def _edges(self, column: str, bins: int) -> list[float]:
        """The values at ``edge_ranks`` of the column's sorted values, as the local read
        finds them."""
        present = exp.Not(this=exp.Is(this=_column(column), expression=exp.Null()))
        count = exp.select(exp.Count(this=_column(column))).from_(SOURCE)
        total = int(next(self.source.rows(self.sql(count)))[0] or 0)
        if not total:
            raise nothing_to_cut(self.source.name, column)
        ranks = edge_ranks(total, bins)
        rank = exp.Window(
            this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=_column(column))])
        )
        ranked = (
            exp.select(
                exp.alias_(_column(column), "mlops_ci_value"), exp.alias_(rank, "mlops_ci_rank")
            )
            .from_(SOURCE)
            .where(present)
            .subquery("ranked")
        )
        wanted = [exp.Literal.number(r + 1) for r in sorted(set(ranks))]
        query = (
            exp.select(_column("mlops_ci_rank"), _column("mlops_ci_value"))
            .from_(ranked)
            .where(exp.In(this=_column("mlops_ci_rank"), expressions=wanted))
        )
        values = {int(r): float(v) for r, v in self.source.rows(self.sql(query))}
        return [values[r + 1] for r in ranks]

    def pii_finds(self, kinds: tuple[PiiKind, ...], hashed: set[str]) -> dict[PiiKind, PiiFinds]:
        """The engine filters each text column by the prefilter; the rules of core.pii
        confirm each distinct suspect here, and the first rows of each kind are read in
        order only where it found some."""
        finds = {kind: PiiFinds() for kind in kinds}
        pattern = prefilter(kinds)
        texts = [c for c, kind in self.schema.items() if kind == pl.String and c not in hashed]
        for column in texts:
            suspect = exp.and_(
                exp.RegexpLike(this=_column(column), expression=exp.Literal.string(pattern)),
                exp.Not(
                    this=exp.RegexpLike(
                        this=_column(column), expression=exp.Literal.string(HEX_DIGEST.pattern)
                    )
                ),
            )
            distinct = (
                exp.select(_column(column), exp.Count(this=exp.Star()))
                .from_(SOURCE)
                .where(suspect)
                .group_by(_column(column))
            )
            found: set[PiiKind] = set()
            for text, count in self.source.rows(self.sql(distinct)):
                for kind in found_kinds(str(text), kinds):
                    finds[kind].count += int(count)
                    finds[kind].columns.add(column)
                    found.add(kind)
            if found:
                self._pii_rows(column, suspect, kinds, found, finds)
        return finds

    def _pii_rows(
        self,
        column: str,
        suspect: exp.Expr,
        kinds: tuple[PiiKind, ...],
        found: set[PiiKind],
        finds: dict[PiiKind, PiiFinds],
    ) -> None:
        query = (
            exp.select(_column(ROW), _column(column))
            .from_(NUMBERED)
            .where(suspect)
            .order_by(_column(ROW))
        )
        wanted = dict.fromkeys(found, ROWS_SHOWN)
        for row, text in self.source.rows(self.sql(query)):
            for kind in found_kinds(str(text), kinds):
                if wanted.get(kind, 0) > 0:
                    finds[kind].rows.append((int(row), str(text)))
                    wanted[kind] -= 1
            if not any(wanted.values()):
                break


def _violation(
    check: RowCheck,
    schema: Mapping[str, pl.DataType],
    checks: DataChecks,
) -> exp.Expr:
    """The SQL that is true where a row breaks ``check``, as its polars mask is."""
    column = _column(check.column)
    kind = schema[check.column]
    if check.check in ("not_null", "labels.max_missing"):
        missing: exp.Expr = exp.Is(this=column, expression=exp.Null())
        if check.check == "not_null" and kind.is_float():
            missing = exp.or_(missing, exp.IsNan(this=column))
        return missing
    present = exp.Not(this=exp.Is(this=column, expression=exp.Null()))
    if check.check == "range":
        bounds = dict(checks.range)[check.column]
        return exp.and_(present, _outside(column, kind, bounds))
    if check.check in ("allowed", "labels.allowed"):
        allowed: Sequence[Scalar] = (
            dict(checks.allowed)[check.column]
            if check.check == "allowed"
            else (checks.labels.allowed or () if checks.labels else ())
        )
        values = [_literal(v, kind) for v in typed(allowed, kind).to_list()]
        if not values:
            return present
        return exp.and_(present, exp.Not(this=exp.In(this=column, expressions=values)))
    if check.check == "pii hashed":
        text = exp.cast(column, exp.DataType.Type.VARCHAR)
        digest = exp.RegexpLike(this=text, expression=exp.Literal.string(HEX_DIGEST.pattern))
        return exp.and_(present, exp.Not(this=digest))
    raise DataFileError(f"the check {check.check!r} has no SQL form; run it with engine: local")


def _outside(column: exp.Expr, kind: pl.DataType, bounds: Bounds) -> exp.Expr:
    """True where a present value is no number within ``bounds`` (text that is no number
    too); dates count days and datetimes microseconds since 1970, as polars casts them."""
    number: exp.Expr
    if kind.is_numeric():
        number = column
    elif kind == pl.Date:
        epoch = exp.cast(exp.Literal.string("1970-01-01"), exp.DataType.Type.DATE)
        number = exp.DateDiff(this=column, expression=epoch, unit=exp.var("DAY"))
    elif isinstance(kind, pl.Datetime):
        number = exp.Mul(this=exp.TimeToUnix(this=column), expression=exp.Literal.number(10**6))
    else:
        number = exp.TryCast(this=column, to=exp.DataType.build("DOUBLE"))
    bad: exp.Expr = exp.Is(this=number, expression=exp.Null())
    if kind.is_float() or not kind.is_numeric():
        bad = exp.or_(bad, exp.IsNan(this=number))
    if bounds.min is not None:
        bad = exp.or_(bad, exp.LT(this=number, expression=exp.Literal.number(bounds.min)))
    if bounds.max is not None:
        bad = exp.or_(bad, exp.GT(this=number, expression=exp.Literal.number(bounds.max)))
    return exp.paren(bad)


def _literal(value: object, kind: pl.DataType) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if kind == pl.Date:
        return exp.cast(exp.Literal.string(str(value)), exp.DataType.Type.DATE)
    if isinstance(kind, pl.Datetime):
        return exp.cast(exp.Literal.string(str(value)), exp.DataType.Type.TIMESTAMP)
    return exp.Literal.string(str(value))


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _float(value: float) -> exp.Expr:
    """A double exactly: a plain literal such as 0.1 is a decimal to DuckDB and Spark."""
    return exp.cast(exp.Literal.string(repr(value)), exp.DataType.Type.DOUBLE)


def _one() -> exp.Expr:
    return exp.Literal.number(1)


def _zero() -> exp.Expr:
    return exp.Literal.number(0)
