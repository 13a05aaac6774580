"""Every check of ``data[].checks`` over one table, and its profile (data/profile.py), in one
streaming read (and a second read of a unique column only when its hashes repeat).

Row checks are vectorised masks summed per batch, or counted by codes where a column has
few allowed values; the first few offending row numbers (1 is the first data row) are looked
up only in batches that have offenders. Aggregates see each batch with what the row checks
learnt of it (the codes, the columns that hold only allowed values).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from mlops_ci.data import kernels
from mlops_ci.data.checks.base import Aggregate, BatchView, Offenders, RowCheck, Setup
from mlops_ci.data.checks.outcome import ROWS_SHOWN, CheckOutcome, DataSetReport
from mlops_ci.data.checks.registry import CHECKS
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.fingerprint import (
    FileChanged,
    check_unchanged,
    fingerprint,
    hash_in_background,
    identity_of,
)
from mlops_ci.data.profile import Profiler
from mlops_ci.data.reader import Table
from mlops_ci.manifest.model import DataChecks, Scalar
from mlops_ci.ports import Meter


def check_table(
    table: Table,
    name: str,
    checks: DataChecks,
    label: str | None,
    meter: Meter | None = None,
    *,
    profile: bool = True,
) -> DataSetReport:
    """Reads ``table`` once (twice when a unique column's hashes repeat) and judges it;
    ``meter`` is told the rows read so far; ``profile`` off (what benchmarks/ingest.py
    measures the profile's cost against) keeps no profile."""
    identity = table.identity or identity_of(table.path)
    table = dataclasses.replace(table, identity=identity)
    digest = hash_in_background(table.path, identity.size)
    with tempfile.TemporaryDirectory(prefix="mlops-ci-unique-") as spill_folder:
        scan = _Scan(Setup(table, checks, label, Path(spill_folder)))
        profiler = Profiler(table.schema if profile else {})
        try:
            for batch in table.batches():
                scan.add(batch)
                profiler.add(batch)
                if meter is not None:
                    meter.update(scan.rows)
            if not scan.rows:
                raise DataFileError(f"{table.name} has columns but no rows; a data set needs rows")
            outcomes = [*typed_columns(checks), *scan.outcomes()]
            digest.result()
        except (DataFileError, OSError, FileChanged) as error:
            check_unchanged(table.path, table.name, identity)  # said so, whatever broke
            if isinstance(error, DataFileError):
                raise
            raise DataFileError(
                f"{table.name} cannot be read ({getattr(error, 'strerror', None) or error})"
            ) from None
        finally:
            scan.close()
    check_unchanged(table.path, table.name, identity)
    return DataSetReport(
        name=name,
        file=table.name,
        rows=scan.rows,
        fingerprint=fingerprint(identity, digest, scan.rows, table.schema),
        outcomes=tuple(outcomes),
        profile=profiler.profile(scan.rows) if profile else None,
    )


def typed_columns(checks: DataChecks) -> list[CheckOutcome]:
    """``checks.columns`` as a row of its own: the read refuses a file with a declared
    column missing or a value not of its type, so a read that ended held them all."""
    if not checks.columns:
        return []
    declared = ", ".join(f"{column} {kind}" for column, kind in checks.columns)
    message = f"every value is of its declared type ({declared})"
    return [CheckOutcome("columns", None, "max", 0, 0, message)]


class _Scan:
    """The state of one read: row checks' counts and offenders, and the aggregates."""

    def __init__(self, setup: Setup) -> None:
        self.rows = 0
        # Each kind's row checks, or its aggregate, in the report's order.
        self.parts: list[list[RowCheck] | Aggregate] = []
        for kind in CHECKS:
            made = kind.row_checks(setup)
            aggregate = kind.aggregate(setup)
            if made:
                self.parts.append(made)
            if aggregate is not None:
                self.parts.append(aggregate)
        self.row_checks = [c for part in self.parts if isinstance(part, list) for c in part]
        self.aggregates = [part for part in self.parts if not isinstance(part, list)]
        self.offenders = {id(check): Offenders() for check in self.row_checks}
        # The checks answered by codes, with the allowed values as the column's type.
        self.coded = [(c, c.wanted) for c in self.row_checks if c.wanted is not None]
        self.summed = [c for c in self.row_checks if c.clean is None and c.wanted is None]
        self.sums = [c.violation.sum().alias(str(i)) for i, c in enumerate(self.summed)]
        self.guarded = [c for c in self.row_checks if c.clean is not None]

    def add(self, batch: pl.DataFrame) -> None:
        offset = self.rows
        self.rows += batch.height
        codes = {
            id(c): kernels.codes(batch.get_column(c.column), wanted) for c, wanted in self.coded
        }
        # One select for every other count: Polars spreads its expressions over the cores.
        sums = batch.select(self.sums).row(0) if self.sums else ()
        totals = {id(c): int(total) for c, total in zip(self.summed, sums, strict=True)}
        for check, _ in self.coded:
            totals[id(check)] = int(np.count_nonzero(codes[id(check)] == kernels.OTHER))
        for check in [*self.summed, *(c for c, _ in self.coded)]:
            if totals[id(check)]:
                self._note(batch, offset, check, totals[id(check)], codes.get(id(check)))
        for check in self.guarded:
            if check.clean is not None and not check.clean(batch):
                total = batch.select(check.violation.sum()).item()
                if total:
                    self._note(batch, offset, check, int(total))
        if self.aggregates:
            view = BatchView(
                frame=batch,
                offset=offset,
                coded={c.column: (wanted, codes[id(c)]) for c, wanted in self.coded},
                only_allowed=_only_allowed(self.row_checks, totals),
            )
            for aggregate in self.aggregates:
                aggregate.add(view)

    def _note(
        self,
        batch: pl.DataFrame,
        offset: int,
        check: RowCheck,
        total: int,
        codes: kernels.Codes | None = None,
    ) -> None:
        offenders = self.offenders[id(check)]
        offenders.count += total
        need = ROWS_SHOWN - len(offenders.rows)
        if need <= 0:
            return
        if codes is not None:
            where = np.flatnonzero(codes == kernels.OTHER)[:need]
        else:
            where = batch.select(check.violation.arg_true().head(need)).to_series().to_numpy()
        offenders.rows += [offset + int(i) + 1 for i in where]

    def outcomes(self) -> list[CheckOutcome]:
        found: list[CheckOutcome] = []
        for part in self.parts:
            if isinstance(part, list):
                found += [check.outcome(self.offenders[id(check)], self.rows) for check in part]
            else:
                found += part.outcomes(self.rows)
        return found

    def close(self) -> None:
        for aggregate in self.aggregates:
            aggregate.close()


def _only_allowed(
    checks: Sequence[RowCheck], totals: dict[int, int]
) -> dict[str, Sequence[Scalar]]:
    """The columns whose allowed-values check found no offender in this batch."""
    return {
        c.column: c.allowed
        for c in checks
        if c.allowed is not None and c.clean is None and totals.get(id(c), 1) == 0
    }
