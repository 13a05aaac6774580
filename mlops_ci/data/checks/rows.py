"""The row checks: ``not_null``, ``range``, ``allowed``, ``labels`` and ``pii.hashed``, each a
mask that is true where a row breaks it."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence

import polars as pl

from mlops_ci.core.pii import HEX_DIGEST
from mlops_ci.core.settings import Bounds
from mlops_ci.data import kernels
from mlops_ci.data.checks.base import Offenders, RowCheck, RowKind, Setup, counted_outcome
from mlops_ci.data.checks.outcome import (
    CheckOutcome,
    bounds_text,
    listing,
    percent,
    rows_text,
    scalar_text,
)
from mlops_ci.data.kernels import all_digests
from mlops_ci.manifest.model import Scalar

_EQUALITIES = 16


class NotNull(RowKind):
    key = "not_null"

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        found = []
        for column in setup.checks.not_null:
            missing = pl.col(column).is_null()
            if setup.schema[column].is_float():
                missing = missing | pl.col(column).is_nan()
            found.append(
                RowCheck(
                    "not_null",
                    column,
                    missing,
                    counted_outcome(
                        "not_null",
                        column,
                        f"{column!r} has {{count}} missing {{values}}{{rows}}",
                        f"{column!r} has no missing values",
                    ),
                )
            )
        return found


class Range(RowKind):
    key = "range"

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        found = []
        for column, bounds in setup.checks.range:
            shown = bounds_text(bounds)
            found.append(
                RowCheck(
                    "range",
                    column,
                    _outside(pl.col(column), setup.schema[column], bounds),
                    counted_outcome(
                        "range",
                        column,
                        f"{column!r} has {{count}} {{values}} outside {shown}{{rows}}",
                        f"every value of {column!r} is within {shown}",
                    ),
                )
            )
        return found


class Allowed(RowKind):
    key = "allowed"

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        found = []
        for column, allowed in setup.checks.allowed:
            shown = listing(allowed)
            found.append(
                allowed_values(
                    "allowed",
                    column,
                    kind=setup.schema[column],
                    allowed=allowed,
                    failed=f"{column!r} has {{count}} {{values}} other than {shown}{{rows}}",
                    passed=f"every value of {column!r} is one of {shown}",
                )
            )
        return found


class Labels(RowKind):
    """The label column's values among ``labels.allowed``, and the share of rows without
    one at most ``labels.max_missing``."""

    key = "labels"

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        labels, label = setup.checks.labels, setup.label
        if labels is None or label is None:
            return []
        found = []
        if labels.allowed is not None:
            shown = listing(labels.allowed)
            found.append(
                allowed_values(
                    "labels.allowed",
                    label,
                    kind=setup.schema[label],
                    allowed=labels.allowed,
                    failed=f"{label!r} has {{count}} {{labels}} other than {shown}{{rows}}",
                    passed=f"every label is one of {shown}",
                )
            )
        limit = labels.max_missing

        def missing(offenders: Offenders, rows: int) -> CheckOutcome:
            share = offenders.count / rows if rows else 0.0
            return CheckOutcome(
                "labels.max_missing",
                label,
                "max",
                limit,
                share,
                f"{percent(share)} of rows have no label {label!r}"
                f"{rows_text(offenders.rows)}; at most {percent(limit)} allowed",
                tuple(offenders.rows),
            )

        found.append(RowCheck("labels.max_missing", label, pl.col(label).is_null(), missing))
        return found


class HashedPii(RowKind):
    """``pii.hashed``: each such column holds sha1, sha256 or sha512 hex digests."""

    key = "pii"

    def row_checks(self, setup: Setup) -> list[RowCheck]:
        pii = setup.checks.pii
        found = []
        for column in pii.hashed if pii is not None else ():
            text = pl.col(column).cast(pl.String)
            not_hashed = text.is_not_null() & ~text.str.contains(HEX_DIGEST.pattern)
            found.append(
                RowCheck(
                    "pii hashed",
                    column,
                    not_hashed,
                    counted_outcome(
                        "pii hashed",
                        column,
                        f"{column!r} has {{count}} {{values}} that are not sha1, sha256 or "
                        "sha512 hex digests{rows}; hash the identifiers before ingest",
                        f"every value of {column!r} is a hex digest",
                    ),
                    clean=_all_digests(column) if setup.schema[column] == pl.String else None,
                )
            )
        return found


def allowed_values(
    check: str,
    column: str,
    *,
    kind: pl.DataType,
    allowed: Sequence[Scalar],
    failed: str,
    passed: str,
) -> RowCheck:
    """A column's values among ``allowed``: counted by codes where the column codes."""
    return RowCheck(
        check,
        column,
        _not_in(pl.col(column), kind, allowed),
        counted_outcome(check, column, failed, passed),
        allowed=allowed,
        wanted=_wanted(kind, allowed),
    )


def _all_digests(column: str) -> Callable[[pl.DataFrame], bool]:
    """Every value of a batch is a hex digest of a digest's length."""

    def clean(batch: pl.DataFrame) -> bool:
        return all_digests(batch.get_column(column))

    return clean


def _outside(column: pl.Expr, kind: pl.DataType, bounds: Bounds) -> pl.Expr:
    """True where a value is not a number within ``bounds``; text that is no number too."""
    number = column if kind.is_numeric() else column.cast(pl.Float64, strict=False)
    bad = number.is_null()  # only where the text is no number: the caller drops nulls
    if kind.is_float() or not kind.is_numeric():
        bad = bad | number.is_nan()
    if bounds.min is not None:
        bad = bad | (number < bounds.min)
    if bounds.max is not None:
        bad = bad | (number > bounds.max)
    return column.is_not_null() & bad


def _not_in(column: pl.Expr, kind: pl.DataType, allowed: Sequence[Scalar]) -> pl.Expr:
    values = typed(allowed, kind)
    if len(values) > _EQUALITIES:
        return column.is_not_null() & ~column.is_in(values.implode())
    # A few comparisons beat a hash lookup: a string view compares its first bytes inline.
    # A value the column's type cannot hold compares as unknown, as `== None` would, but
    # without polars' warning on every such check.
    matches = (
        column == value if value is not None else pl.lit(None, pl.Boolean) for value in values
    )
    one_of = functools.reduce(operator.or_, matches, pl.lit(False))
    return column.is_not_null() & ~one_of


def _wanted(kind: pl.DataType, allowed: Sequence[Scalar]) -> pl.Series | None:
    """The allowed values to code the column by, when it can be coded."""
    values = typed(allowed, kind)
    return values if codable(kind) and len(values) <= kernels.MAX_CODES else None


def codable(kind: pl.DataType) -> bool:
    """Whether equal values of this type are equal codes (floats have NaN and -0.0)."""
    return kind in (pl.String, pl.Boolean) or kind.is_integer()


def typed(values: Iterable[Scalar], kind: pl.DataType) -> pl.Series:
    """The manifest's values as the column's type; a CSV column read as text compares with
    the values as YAML wrote them (``0``, ``1.5``, ``true``)."""
    if kind == pl.String:
        return pl.Series([scalar_text(v) for v in values], dtype=pl.String)
    if kind == pl.Boolean:
        return pl.Series([v for v in values if isinstance(v, bool)], dtype=pl.Boolean)
    if kind.is_numeric():
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if kind.is_integer():
            numbers = [int(v) for v in numbers if float(v).is_integer()]
        return pl.Series(numbers, dtype=kind)
    texts = pl.Series([scalar_text(v) for v in values], dtype=pl.String)
    # polars parses text into dates and times only through .str, not by a cast.
    if kind == pl.Date:
        return texts.str.to_date(strict=False)
    if isinstance(kind, pl.Datetime):
        return texts.str.to_datetime(
            strict=False, time_unit=kind.time_unit, time_zone=kind.time_zone
        )
    return texts.cast(kind, strict=False)
