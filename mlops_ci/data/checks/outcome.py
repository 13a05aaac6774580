"""What a data check finds: one outcome per check, the data set's report, and the sentences
that say them (row numbers, counts, shares, values shown short)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.core.drift import Profile
from mlops_ci.core.gates import GateResult
from mlops_ci.core.settings import Bounds
from mlops_ci.data.fingerprint import Fingerprint
from mlops_ci.manifest.model import Scalar

ROWS_SHOWN = 5


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
    profile: Profile | None = None  # None: an engine that cannot sample

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)


def counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def rows_text(rows: Sequence[int]) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:ROWS_SHOWN])
    return f" (row{'s' if len(rows) > 1 else ''} {shown})"


def bounds_text(bounds: Bounds) -> str:
    low = "-inf" if bounds.min is None else number_text(bounds.min)
    high = "inf" if bounds.max is None else number_text(bounds.max)
    return f"[{low}, {high}]"


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def scalar_text(value: Scalar) -> str:
    """A manifest's value as a CSV column holding it reads (``0``, ``1.5``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def listing(values: Sequence[Scalar]) -> str:
    shown = ", ".join(scalar_text(v) for v in values[:10])
    return shown + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def percent(share: float) -> str:
    if math.isclose(share, round(share, 2)):
        return f"{share:.0%}"
    return f"{share:.1%}"
