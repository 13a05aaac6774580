"""Every check of ``data[].checks`` over one table, in one streaming read (and a second read
of a unique column only when its hashes repeat).

Row checks are vectorised masks summed per batch; the first few offending row numbers (1 is
the first data row) are looked up only in batches that have offenders. Personal data is
searched per distinct value where a column has few of them, else by a vectorised prefilter
whose hits the reference rules of ``core.pii`` confirm; every value shown is masked.
"""

from __future__ import annotations

import functools
import math
import operator
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from mlops_ci.core.gates import Bounds, GateResult
from mlops_ci.core.pii import HEX_DIGEST, PiiKind, found_kinds, mask, prefilter
from mlops_ci.data import kernels
from mlops_ci.data.fingerprint import Fingerprint, fingerprint, hash_in_background
from mlops_ci.data.kernels import all_digests, may_contain
from mlops_ci.data.reader import DataFileError, Table
from mlops_ci.data.unique import HashSpill, RepeatFinder
from mlops_ci.manifest.model import DataChecks, Scalar

ROWS_SHOWN = 5
_EXAMPLES = 3
_MAX_GROUPS = 100_000
_EQUALITIES = 16
_MAX_CELLS = 1 << 20  # a bincount of at most 8 MiB
_CACHE_LIMIT = 100_000
_DIGITS = b"0123456789"
# The bytes without which a rule of core.pii cannot match.
_PII_BYTES: dict[PiiKind, bytes] = {
    "email": b"@",
    "phone": _DIGITS,
    "ip_address": _DIGITS + b":",
    "card_number": _DIGITS,
}
_PII_NAMES: dict[PiiKind, str] = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "ip_address": "an IP address",
    "card_number": "a payment card number",
}


@dataclass(frozen=True)
class CheckOutcome:
    """One check of one data set: ``value`` held to ``threshold`` by ``rule``."""

    check: str
    column: str | None
    rule: str
    threshold: float
    value: float
    message: str
    rows: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        if self.rule == "min":
            return self.value >= self.threshold
        return self.value <= self.threshold

    def to_gate(self, data_set: str) -> GateResult:
        subject = f"{self.check} {self.column}" if self.column else self.check
        return GateResult(
            name=f"{data_set}: {subject}",
            rule=self.rule,
            threshold=self.threshold,
            value=self.value,
            verdict="passed" if self.passed else "failed",
            message=self.message,
        )


@dataclass(frozen=True)
class DataSetReport:
    name: str
    file: str
    rows: int
    fingerprint: Fingerprint
    outcomes: tuple[CheckOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)


def check_table(table: Table, name: str, checks: DataChecks, label: str | None) -> DataSetReport:
    """Reads ``table`` once (twice when a unique column's hashes repeat) and judges it."""
    digest = hash_in_background(table.path)
    with tempfile.TemporaryDirectory(prefix="mlops-ci-unique-") as spill_folder:
        scan = _Scan(table, checks, label, Path(spill_folder))
        try:
            for batch in table.batches():
                scan.add(batch)
            if not scan.rows:
                raise DataFileError(f"{table.name} has columns but no rows; a data set needs rows")
            outcomes = scan.outcomes()
        finally:
            for spill in scan.spills.values():
                spill.close()
    return DataSetReport(
        name=name,
        file=table.name,
        rows=scan.rows,
        fingerprint=fingerprint(table.path, digest, scan.rows, table.schema),
        outcomes=tuple(outcomes),
    )


@dataclass
class _Offenders:
    """A count and the first row numbers of one row check."""

    count: int = 0
    rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _RowCheck:
    check: str
    column: str
    violation: pl.Expr
    describe: Callable[[_Offenders], str]
    allowed: Sequence[Scalar] | None = None
    # A cheaper test that a batch has no offender (True) or may have (False).
    clean: Callable[[pl.DataFrame], bool] | None = None
    # The allowed values as the column's type, when the check counts the column's codes
    # (kernels.codes: OTHER is an offender) rather than its violation mask.
    wanted: pl.Series | None = None


@dataclass
class _PiiFinds:
    count: int = 0
    rows: list[int] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


class _Scan:
    """The state of one read: counts, offending rows, hashes, class counts."""

    def __init__(self, table: Table, checks: DataChecks, label: str | None, spill: Path) -> None:
        self.table = table
        self.checks = checks
        self.label = label
        self.rows = 0
        self.row_checks = _row_checks(table.schema, checks, label)
        self.offenders = [_Offenders() for _ in self.row_checks]
        # The checks answered by codes: index -> (column, the allowed values as its type).
        self.coded = {
            i: (check.column, check.wanted)
            for i, check in enumerate(self.row_checks)
            if check.wanted is not None
        }
        self.summed = [
            i
            for i, check in enumerate(self.row_checks)
            if check.clean is None and check.wanted is None
        ]
        self.sums = [self.row_checks[i].violation.sum().alias(str(i)) for i in self.summed]
        self.spills = {
            column: HashSpill(spill / f"{index}") for index, column in enumerate(checks.unique)
        }
        self.balance_columns = (
            [checks.balance.column, *checks.balance.sensitive] if checks.balance else []
        )
        self.balance_counts: dict[tuple[object, ...], int] = {}
        # The codes a balance column is counted by: an allowed-values check's, else the
        # values seen so far (None once there are too many to code).
        self.coded_columns = {column: i for i, (column, _) in self.coded.items()}
        self.cells: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self.seen: dict[str, set[object] | None] = {
            column: set()
            for column in self.balance_columns
            if column not in self.coded_columns and _codable(table.schema[column])
        }
        pii = checks.pii
        self.pii_kinds: tuple[PiiKind, ...] = pii.forbid if pii else ()
        hashed = set(pii.hashed) if pii else set()
        self.pii_columns = [
            c for c, kind in table.schema.items() if kind == pl.String and c not in hashed
        ]
        self.pii_pattern = prefilter(self.pii_kinds) if self.pii_kinds else ""
        self.pii_bytes = bytes(sorted({b for kind in self.pii_kinds for b in _PII_BYTES[kind]}))
        self.pii_finds: dict[PiiKind, _PiiFinds] = {kind: _PiiFinds() for kind in self.pii_kinds}
        self.by_value: dict[str, bool] = {}
        self.pii_cache: dict[str, list[PiiKind]] = {}
        # A column whose batch passed its allowed-values check holds only those values; when
        # none of them is personal data, there is nothing to search in it.
        self.vouched_by = {
            check.column: index
            for index, check in enumerate(self.row_checks)
            if check.allowed is not None
            and check.clean is None
            and not any(self._kinds(_text(value)) for value in check.allowed)
        }

    def add(self, batch: pl.DataFrame) -> None:
        offset = self.rows
        self.rows += batch.height
        coded = {
            index: kernels.codes(batch.get_column(column), wanted)
            for index, (column, wanted) in self.coded.items()
        }
        # One select for every other count: Polars spreads its expressions over the cores.
        sums = batch.select(self.sums).row(0) if self.sums else ()
        totals = dict(zip(self.summed, sums, strict=True))
        for index, codes in coded.items():
            totals[index] = int(np.count_nonzero(codes == kernels.OTHER))
        for index, total in totals.items():
            if total:
                self._note_offenders(batch, offset, index, int(total), coded.get(index))
        for index, check in enumerate(self.row_checks):
            if check.clean is not None and not check.clean(batch):
                total = batch.select(check.violation.sum()).item()
                if total:
                    self._note_offenders(batch, offset, index, int(total))
        for column, spill in self.spills.items():
            spill.add(batch.get_column(column))
        if self.balance_columns:
            self._count_classes(batch, coded)
        if self.pii_kinds:
            for column in self.pii_columns:
                if totals.get(self.vouched_by.get(column, -1), 1) != 0:
                    self._search_pii(batch.get_column(column), offset)

    def outcomes(self) -> list[CheckOutcome]:
        found: list[CheckOutcome] = []
        if self.checks.min_rows is not None:
            found.append(
                CheckOutcome(
                    "min_rows",
                    None,
                    "min",
                    self.checks.min_rows,
                    self.rows,
                    f"{self.rows:,} rows; at least {self.checks.min_rows:,} needed",
                )
            )
        for check, offenders in zip(self.row_checks, self.offenders, strict=True):
            found.append(self._row_outcome(check, offenders))
        found += self._unique_outcomes()
        found += self._balance_outcomes()
        found += self._pii_outcomes()
        return found

    # -- row checks ---------------------------------------------------------------------

    def _note_offenders(
        self,
        batch: pl.DataFrame,
        offset: int,
        index: int,
        total: int,
        codes: kernels.Codes | None = None,
    ) -> None:
        offenders = self.offenders[index]
        offenders.count += total
        need = ROWS_SHOWN - len(offenders.rows)
        if need <= 0:
            return
        if codes is not None:
            where = np.flatnonzero(codes == kernels.OTHER)[:need]
        else:
            violation = self.row_checks[index].violation
            where = batch.select(violation.arg_true().head(need)).to_series().to_numpy()
        offenders.rows += [offset + int(i) + 1 for i in where]

    def _row_outcome(self, check: _RowCheck, offenders: _Offenders) -> CheckOutcome:
        if check.check == "labels.max_missing":
            share = offenders.count / self.rows if self.rows else 0.0
            limit = self.checks.labels.max_missing if self.checks.labels else 0.0
            return CheckOutcome(
                check.check,
                check.column,
                "max",
                limit,
                share,
                f"{_percent(share)} of rows have no label {check.column!r}"
                f"{_rows(offenders.rows)}; at most {_percent(limit)} allowed",
                tuple(offenders.rows),
            )
        return CheckOutcome(
            check.check,
            check.column,
            "max",
            0,
            offenders.count,
            check.describe(offenders),
            tuple(offenders.rows),
        )

    # -- uniqueness ---------------------------------------------------------------------

    def _unique_outcomes(self) -> list[CheckOutcome]:
        found = []
        for column, spill in self.spills.items():
            count, suspects = spill.repeated()
            rows: list[int] = []
            if count:
                finder = RepeatFinder(suspects, count, ROWS_SHOWN, spill.seed)
                offset = 0
                for batch in self.table.batches(columns=[column]):
                    finder.add(batch.get_column(column), offset)
                    offset += batch.height
                repeats = finder.result()
                count, rows = repeats.count, repeats.rows
            message = (
                f"{column!r} has {_counted(count, 'value')} that repeat an earlier row's"
                f"{_rows(rows)}"
                if count
                else f"every value of {column!r} is distinct"
            )
            found.append(CheckOutcome("unique", column, "max", 0, count, message, tuple(rows)))
        return found

    # -- balance ------------------------------------------------------------------------

    def _count_classes(self, batch: pl.DataFrame, coded: Mapping[int, kernels.Codes]) -> None:
        found = self._classes_by_code(batch, coded)
        if found is None:
            found = self._classes_by_group(batch)
        for key, count in found:
            if key[0] is None:
                continue  # a row without a class is the labels check's business
            self.balance_counts[key] = self.balance_counts.get(key, 0) + count
        if len(self.balance_counts) > _MAX_GROUPS:
            raise DataFileError(
                f"{self.table.name}: checks.balance counts more than {_MAX_GROUPS:,} "
                "combinations of its columns; name a column with few values (a class or a band)"
            )

    def _classes_by_code(
        self, batch: pl.DataFrame, coded: Mapping[int, kernels.Codes]
    ) -> list[tuple[tuple[object, ...], int]] | None:
        """The combinations counted as cells of a table indexed by each column's code (one
        bincount); None when a column has no codes yet or a value outside them."""
        books: list[list[object]] = []
        if len(self.cells) < batch.height:
            self.cells = np.empty(batch.height, np.uint32)
        cells = self.cells[: batch.height]  # kept from batch to batch: a new array costs more
        cells.fill(0)
        for column in self.balance_columns:
            index = self.coded_columns.get(column)
            if index is not None:
                wanted = self.coded[index][1]
                codes = coded[index]
            else:
                seen = self.seen.get(column)
                if not seen:
                    return None
                wanted = pl.Series(sorted(seen, key=repr), dtype=self.table.schema[column])
                codes = kernels.codes(batch.get_column(column), wanted)
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

    def _classes_by_group(self, batch: pl.DataFrame) -> list[tuple[tuple[object, ...], int]]:
        """The combinations grouped by Polars; the values seen give the columns their codes."""
        groups = [
            (tuple(row[:-1]), int(row[-1]))
            for row in batch.group_by(self.balance_columns).len().iter_rows()
        ]
        for position, column in enumerate(self.balance_columns):
            seen = self.seen.get(column)
            if seen is not None:
                seen.update(key[position] for key, _ in groups if key[position] is not None)
                if len(seen) > kernels.MAX_CODES:
                    self.seen[column] = None
        return groups

    def _balance_outcomes(self) -> list[CheckOutcome]:
        balance = self.checks.balance
        if balance is None:
            return []
        column = balance.column
        overall: dict[object, int] = {}
        for key, count in self.balance_counts.items():
            overall[key[0]] = overall.get(key[0], 0) + count
        total = sum(overall.values())
        found = [_smallest_share(overall, total, balance.min_share, column, "")]
        for position, sensitive in enumerate(balance.sensitive, start=1):
            groups: dict[object, dict[object, int]] = {}
            for key, count in self.balance_counts.items():
                classes = groups.setdefault(key[position], dict.fromkeys(overall, 0))
                classes[key[0]] += count
            worst = min(
                (
                    _smallest_share(
                        classes,
                        sum(classes.values()),
                        balance.min_share,
                        column,
                        f" where {sensitive} = {_value(group)}",
                    )
                    for group, classes in groups.items()
                ),
                key=lambda outcome: outcome.value,
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

    # -- personal data ------------------------------------------------------------------

    def _search_pii(self, values: pl.Series, offset: int) -> None:
        if not may_contain(values, self.pii_bytes):
            return
        column = values.name
        if column not in self.by_value:
            distinct = values.n_unique()
            self.by_value[column] = distinct <= max(64, len(values) // 50)
        if self.by_value[column]:
            counts = values.drop_nulls().value_counts()
            hits: list[tuple[str, list[PiiKind], int]] = []
            for text, count in counts.iter_rows():
                kinds = self._kinds(text)
                if kinds:
                    hits.append((text, kinds, count))
            if hits:
                self._note_pii(values, offset, hits)
            return
        suspects = values.filter(values.str.contains(self.pii_pattern))
        if suspects.is_empty():
            return
        # A hex digest holds no personal data whatever digits it shows (core.pii agrees);
        # ruling digests out here spares the rules a column of hashes.
        suspects = suspects.filter(~suspects.str.contains(HEX_DIGEST.pattern))
        hits = []
        for text, count in suspects.value_counts().iter_rows():
            kinds = self._kinds(text)
            if kinds:
                hits.append((text, kinds, count))
        if hits:
            self._note_pii(values, offset, hits)

    def _kinds(self, text: str) -> list[PiiKind]:
        kinds = self.pii_cache.get(text)
        if kinds is None:
            kinds = found_kinds(text, self.pii_kinds)
            if len(self.pii_cache) < _CACHE_LIMIT:
                self.pii_cache[text] = kinds
        return kinds

    def _note_pii(
        self, values: pl.Series, offset: int, hits: Sequence[tuple[str, list[PiiKind], int]]
    ) -> None:
        for kind in self.pii_kinds:
            texts = [text for text, kinds, _ in hits if kind in kinds]
            if not texts:
                continue
            finds = self.pii_finds[kind]
            finds.count += sum(count for text, kinds, count in hits if kind in kinds)
            finds.columns.add(str(values.name))
            for text in texts:
                if len(finds.examples) < _EXAMPLES and mask(text) not in finds.examples:
                    finds.examples.append(mask(text))
            need = ROWS_SHOWN - len(finds.rows)
            if need > 0:
                where = values.is_in(pl.Series(texts, dtype=pl.String).implode())
                where = where.arg_true().head(need)
                finds.rows += [offset + int(i) + 1 for i in where]

    def _pii_outcomes(self) -> list[CheckOutcome]:
        found = []
        for kind, finds in self.pii_finds.items():
            if finds.count:
                rows = sorted(finds.rows)[:ROWS_SHOWN]
                message = (
                    f"{_counted(finds.count, 'value')} hold {_PII_NAMES[kind]} (in "
                    f"{', '.join(sorted(finds.columns))}){_rows(rows)}, such as "
                    f"{', '.join(finds.examples)}; remove or hash them before ingest"
                )
            else:
                rows = []
                message = f"no value holds {_PII_NAMES[kind]}"
            found.append(
                CheckOutcome(f"pii {kind}", None, "max", 0, finds.count, message, tuple(rows))
            )
        return found


def _row_checks(
    schema: Mapping[str, pl.DataType], checks: DataChecks, label: str | None
) -> list[_RowCheck]:
    """Each row check as a mask that is true where a row breaks it."""
    found: list[_RowCheck] = []
    for column in checks.not_null:
        missing = pl.col(column).is_null()
        if schema[column].is_float():
            missing = missing | pl.col(column).is_nan()
        found.append(
            _RowCheck(
                "not_null",
                column,
                missing,
                _describer(
                    f"{column!r} has {{count}} missing {{values}}{{rows}}",
                    f"{column!r} has no missing values",
                ),
            )
        )
    for column, bounds in checks.range:
        found.append(
            _RowCheck(
                "range",
                column,
                _outside(pl.col(column), schema[column], bounds),
                _describer(
                    f"{column!r} has {{count}} {{values}} outside {_bounds(bounds)}{{rows}}",
                    f"every value of {column!r} is within {_bounds(bounds)}",
                ),
            )
        )
    for column, allowed in checks.allowed:
        found.append(
            _RowCheck(
                "allowed",
                column,
                _not_in(pl.col(column), schema[column], allowed),
                _describer(
                    f"{column!r} has {{count}} {{values}} other than {_listing(allowed)}{{rows}}",
                    f"every value of {column!r} is one of {_listing(allowed)}",
                ),
                allowed=allowed,
                wanted=_wanted(schema[column], allowed),
            )
        )
    if checks.labels is not None and label is not None:
        if checks.labels.allowed is not None:
            allowed = checks.labels.allowed
            found.append(
                _RowCheck(
                    "labels.allowed",
                    label,
                    _not_in(pl.col(label), schema[label], allowed),
                    _describer(
                        f"{label!r} has {{count}} {{labels}} other than "
                        f"{_listing(allowed)}{{rows}}",
                        f"every label is one of {_listing(allowed)}",
                    ),
                    allowed=allowed,
                    wanted=_wanted(schema[label], allowed),
                )
            )
        found.append(
            _RowCheck("labels.max_missing", label, pl.col(label).is_null(), _describer("", ""))
        )
    if checks.pii is not None:
        for column in checks.pii.hashed:
            text = pl.col(column).cast(pl.String)
            not_hashed = text.is_not_null() & ~text.str.contains(HEX_DIGEST.pattern)
            found.append(
                _RowCheck(
                    "pii hashed",
                    column,
                    not_hashed,
                    _describer(
                        f"{column!r} has {{count}} {{values}} that are not sha1, sha256 or sha512 "
                        "hex digests{rows}; hash the identifiers before ingest",
                        f"every value of {column!r} is a hex digest",
                    ),
                    clean=_all_digests(column) if schema[column] == pl.String else None,
                )
            )
    return found


def _all_digests(column: str) -> Callable[[pl.DataFrame], bool]:
    """Every value of a batch is a hex digest of a digest's length."""

    def clean(batch: pl.DataFrame) -> bool:
        return all_digests(batch.get_column(column))

    return clean


def _describer(failed: str, passed: str) -> Callable[[_Offenders], str]:
    """Sentences for a row check; ``failed`` has ``{count}`` and ``{rows}`` to fill in."""

    def describe(offenders: _Offenders) -> str:
        if not offenders.count:
            return passed
        many = offenders.count != 1
        return failed.format(
            count=f"{offenders.count:,}",
            values="values" if many else "value",
            labels="labels" if many else "label",
            rows=_rows(offenders.rows),
        )

    return describe


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
    values = _typed(allowed, kind)
    if len(values) > _EQUALITIES:
        return column.is_not_null() & ~column.is_in(values.implode())
    # A few comparisons beat a hash lookup: a string view compares its first bytes inline.
    one_of = functools.reduce(operator.or_, (column == value for value in values), pl.lit(False))
    return column.is_not_null() & ~one_of


def _wanted(kind: pl.DataType, allowed: Sequence[Scalar]) -> pl.Series | None:
    """The allowed values to code the column by, when it can be coded."""
    values = _typed(allowed, kind)
    return values if _codable(kind) and len(values) <= kernels.MAX_CODES else None


def _codable(kind: pl.DataType) -> bool:
    """Whether equal values of this type are equal codes (floats have NaN and -0.0)."""
    return kind in (pl.String, pl.Boolean) or kind.is_integer()


def _typed(values: Iterable[Scalar], kind: pl.DataType) -> pl.Series:
    """The manifest's values as the column's type; a CSV column read as text compares with
    the values as YAML wrote them (``0``, ``1.5``, ``true``)."""
    if kind == pl.String:
        return pl.Series([_text(v) for v in values], dtype=pl.String)
    if kind == pl.Boolean:
        return pl.Series([v for v in values if isinstance(v, bool)], dtype=pl.Boolean)
    if kind.is_numeric():
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if kind.is_integer():
            numbers = [int(v) for v in numbers if float(v).is_integer()]
        return pl.Series(numbers, dtype=kind)
    return pl.Series([_text(v) for v in values], dtype=pl.String).cast(kind, strict=False)


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _smallest_share(
    classes: Mapping[object, int], total: int, min_share: float, column: str, where: str
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
        f"class {_value(smallest)} of {column!r} holds {_percent(share)} of the rows{where}; "
        f"each class needs at least {_percent(min_share)}",
    )


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _rows(rows: Sequence[int]) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:ROWS_SHOWN])
    return f" (row{'s' if len(rows) > 1 else ''} {shown})"


def _bounds(bounds: Bounds) -> str:
    low = "-inf" if bounds.min is None else _number(bounds.min)
    high = "inf" if bounds.max is None else _number(bounds.max)
    return f"[{low}, {high}]"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _listing(values: Sequence[Scalar]) -> str:
    shown = ", ".join(_text(v) for v in values[:10])
    return shown + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def _percent(share: float) -> str:
    if math.isclose(share, round(share, 2)):
        return f"{share:.0%}"
    return f"{share:.1%}"


def _value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
