"""Drift: how far a data set's columns moved from a reference's (production's training data),
measured between two profiles.

A profile holds, per column, either quantiles (numeric columns: 101 points, 0 to 100 %) or
the shares of its values (categorical ones), made from a uniform sample of the rows
(data/profile.py). Every measure works from those alone, so two records in git are enough:

- PSI (population stability index) over ten bins: the reference's deciles for a numeric
  column, its values (and "other") for a categorical one; Σ (a - e) · ln(a / e), each share
  floored at 0.0001 so that an empty bin counts without dividing by zero.
- KS: the largest gap between the two cumulative distributions, read at every quantile
  point of either profile (numeric columns).
- Wasserstein: the mean gap between the two quantile functions, divided by the reference's
  spread (its standard deviation, else its interquartile range), so one limit fits every
  column whatever its unit (numeric columns).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from mlops_ci.core.gates import GateResult
from mlops_ci.core.settings import MEASURES, DriftLimits, Measure

ColumnKind = Literal["numeric", "categorical", "other"]
QUANTILE_POINTS = 101
OTHER = "\x00other"  # the share of every value not listed (never a column's own value)
_FLOOR = 1e-4
_BINS = 10


class ProfileError(ValueError):
    """A stored profile that is not one (a record edited by hand, or from elsewhere)."""


@dataclass(frozen=True)
class ColumnProfile:
    kind: ColumnKind
    nulls: float  # the share of rows without a value
    quantiles: tuple[float, ...] = ()  # numeric: QUANTILE_POINTS values, rising
    mean: float | None = None
    std: float | None = None
    shares: tuple[tuple[str, float], ...] = ()  # categorical: value -> share, OTHER last
    # Where the cumulative distribution is known exactly, (value, share at or below it): a
    # histogram's bounds, between which its quantiles are only a linear guess. Not stored.
    exact: tuple[tuple[float, float], ...] = ()

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {"kind": self.kind, "nulls": self.nulls}
        if self.kind == "numeric":
            found.update(quantiles=list(self.quantiles), mean=self.mean, std=self.std)
        if self.kind == "categorical":
            found["shares"] = {v: s for v, s in self.shares if v != OTHER}
            found["other"] = dict(self.shares).get(OTHER, 0.0)
        return found


@dataclass(frozen=True)
class Profile:
    rows: int
    sampled: int  # the rows the quantiles and shares were made from
    columns: Mapping[str, ColumnProfile]

    def to_json(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "sampled": self.sampled,
            "columns": {name: column.to_json() for name, column in self.columns.items()},
        }


def profile_from_json(data: object, where: str) -> Profile:
    """A profile read back from a record; ``where`` names the record in a refusal."""
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: the profile is not an object")
    rows, sampled, columns = (
        _count(data.get("rows")),
        _count(data.get("sampled")),
        data.get("columns"),
    )
    if rows is None or sampled is None or not isinstance(columns, dict):
        raise ProfileError(f"{where}: the profile needs rows, sampled and columns")
    return Profile(
        rows,
        sampled,
        {str(n): _column_from_json(c, f"{where}, column {n}") for n, c in columns.items()},
    )


def _column_from_json(data: object, where: str) -> ColumnProfile:
    if not isinstance(data, dict) or data.get("kind") not in ("numeric", "categorical", "other"):
        raise ProfileError(f"{where}: kind must be numeric, categorical or other")
    nulls = _share(data.get("nulls"))
    if nulls is None:
        raise ProfileError(f"{where}: nulls must be a share between 0 and 1")
    if data["kind"] == "numeric":
        found = data.get("quantiles")
        quantiles = [_number(q) for q in found] if isinstance(found, list) else []
        rising = all(
            a is not None and b is not None and a <= b for a, b in itertools.pairwise(quantiles)
        )
        if len(quantiles) != QUANTILE_POINTS or None in quantiles or not rising:
            raise ProfileError(f"{where}: quantiles must be {QUANTILE_POINTS} rising numbers")
        std = _number(data.get("std"))
        return ColumnProfile(
            "numeric",
            nulls,
            tuple(q for q in quantiles if q is not None),
            _number(data.get("mean")),
            std if std is not None and std >= 0 else None,
        )
    if data["kind"] == "categorical":
        shares, other = data.get("shares"), _share(data.get("other", 0.0))
        listed = (
            [(str(v), _share(s)) for v, s in shares.items()] if isinstance(shares, dict) else None
        )
        if listed is None or any(s is None for _, s in listed):
            raise ProfileError(f"{where}: shares must map values to shares between 0 and 1")
        if other is None:
            raise ProfileError(f"{where}: other must be a share between 0 and 1")
        known = tuple((v, s) for v, s in listed if s is not None)
        return ColumnProfile("categorical", nulls, shares=(*known, (OTHER, other)))
    return ColumnProfile("other", nulls)


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _share(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and 0.0 <= number <= 1.0 else None


# The measures


def psi(reference: ColumnProfile, current: ColumnProfile) -> float:
    if current.exact:  # a histogram: its own buckets are the bins
        cuts = [0.0, *(_cdf(reference.quantiles, x) for x, _ in current.exact), 1.0]
        expected = [b - a for a, b in itertools.pairwise(cuts)]
        known = [0.0, *(share for _, share in current.exact), 1.0]
        actual = [b - a for a, b in itertools.pairwise(known)]
    elif reference.kind == "numeric" and current.kind == "numeric":
        edges = sorted(set(reference.quantiles[10:-10:10]))
        expected = _bin_shares(reference.quantiles, edges)
        actual = _bin_shares(current.quantiles, edges)
    else:
        values = [v for v, _ in reference.shares if v != OTHER]
        expected = _category_shares(reference.shares, values)
        actual = _category_shares(current.shares, values)
    return sum(
        (max(a, _FLOOR) - max(e, _FLOOR)) * math.log(max(a, _FLOOR) / max(e, _FLOOR))
        for e, a in zip(expected, actual, strict=True)
    )


def ks(reference: ColumnProfile, current: ColumnProfile) -> float:
    if current.exact:
        return max(abs(_cdf(reference.quantiles, x) - share) for x, share in current.exact)
    points = sorted({*reference.quantiles, *current.quantiles})
    return max(abs(_cdf(reference.quantiles, x) - _cdf(current.quantiles, x)) for x in points)


def wasserstein(reference: ColumnProfile, current: ColumnProfile) -> float:
    """The mean |Q_ref(p) - Q_cur(p)| over the quantile grid (the trapezoid rule), in units
    of the reference's spread."""
    gaps = [abs(a - b) for a, b in zip(reference.quantiles, current.quantiles, strict=True)]
    distance = sum((x + y) / 2 for x, y in itertools.pairwise(gaps)) / (len(gaps) - 1)
    spread = reference.std or (reference.quantiles[75] - reference.quantiles[25])
    if not spread:
        return 0.0 if not distance else math.inf
    return distance / spread


def _cdf(quantiles: tuple[float, ...], x: float) -> float:
    """The share of values at or below ``x``, read off the quantiles (linear between them)."""
    if x < quantiles[0]:
        return 0.0
    if x >= quantiles[-1]:
        return 1.0
    high = bisect.bisect_right(quantiles, x)  # quantiles[high - 1] <= x < quantiles[high]
    low = high - 1
    step = 1 / (len(quantiles) - 1)
    below, above = quantiles[low], quantiles[high]
    return low * step + step * (x - below) / (above - below)


def _bin_shares(quantiles: tuple[float, ...], edges: list[float]) -> list[float]:
    cuts = [0.0, *(_cdf(quantiles, e) for e in edges), 1.0]
    return [b - a for a, b in itertools.pairwise(cuts)]


def _category_shares(shares: tuple[tuple[str, float], ...], values: list[str]) -> list[float]:
    known = dict(shares)
    total = sum(known.values()) or 1.0
    listed = [known.get(v, 0.0) / total for v in values]
    return [*listed, max(0.0, 1.0 - sum(listed))]


def histogram_column(buckets: Iterable[tuple[float, float]], low: float) -> ColumnProfile | None:
    """A numeric column's profile from a Prometheus histogram: its buckets (upper bound
    ``le``, the count at or below it, +Inf last) read as a cumulative distribution, linear
    within each bucket, from ``low`` (the smallest value the reference saw) up; the values
    past the last finite bound sit at it. None for a histogram without observations."""
    ordered = sorted((b, c) for b, c in buckets if not math.isnan(b) and math.isfinite(c))
    # Counts that fall from one bucket to the next are no histogram's; a running maximum
    # keeps the distribution rising whatever an exporter says.
    rising = itertools.accumulate((c for _, c in ordered), max)
    ordered = [(b, c) for (b, _), c in zip(ordered, rising, strict=True)]
    total = ordered[-1][1] if ordered else 0.0
    if not total or not math.isinf(ordered[-1][0]):
        return None
    finite = [(b, c) for b, c in ordered if math.isfinite(b)]
    if not finite:
        return None
    points = [(min(low, finite[0][0]), 0.0), *((b, c / total) for b, c in finite)]
    quantiles = []
    for index in range(QUANTILE_POINTS):
        wanted = index / (QUANTILE_POINTS - 1)
        quantiles.append(_inverse(points, wanted))
    exact = tuple((b, c / total) for b, c in finite)
    return ColumnProfile("numeric", 0.0, tuple(quantiles), exact=exact)


def _inverse(points: list[tuple[float, float]], share: float) -> float:
    """The value at which the cumulative ``points`` (value, share, rising) reach ``share``."""
    for (x0, p0), (x1, p1) in itertools.pairwise(points):
        if p1 >= share and p1 > p0:
            return x0 + (x1 - x0) * max(0.0, share - p0) / (p1 - p0)
    return points[-1][0]


# The gates


def drift_of(
    reference: Profile, current: Profile, columns: Iterable[str] = ()
) -> dict[str, dict[Measure, float]]:
    """Each column's measures: PSI for every column both profile as numeric or categorical,
    KS and Wasserstein for numeric ones."""
    wanted = list(columns) or [c for c in reference.columns if c in current.columns]
    found: dict[str, dict[Measure, float]] = {}
    for name in wanted:
        before, now = reference.columns.get(name), current.columns.get(name)
        if before is None or now is None or before.kind != now.kind or before.kind == "other":
            continue
        measures: dict[Measure, float] = {"psi": psi(before, now)}
        if before.kind == "numeric":
            measures["ks"] = ks(before, now)
            measures["wasserstein"] = wasserstein(before, now)
        found[name] = measures
    return found


def drift_gates(
    data_set: str,
    limits: DriftLimits,
    current: Profile,
    reference: Profile | None,
    production: str | None,
) -> list[GateResult]:
    """One gate per measure with a limit: its worst column against the limit, each column
    over it named. No release yet skips them; a release without a profile fails them."""
    gates = []
    for measure in MEASURES:
        limit = limits.limit(measure)
        if limit is None:
            continue
        name = f"{data_set}: drift {measure}"
        if production is None:
            gates.append(GateResult(name, "max", limit, None, "skipped", f"{name}: no release yet"))
            continue
        if reference is None:
            message = (
                f"{name}: the records of {production} hold no profile of {data_set!r} "
                "(ingested before profiles were kept); ingest its data at its commit, or "
                "remove the limit until the next release"
            )
            gates.append(GateResult(name, "max", limit, None, "failed", message))
            continue
        missing = [c for c in limits.columns if c not in current.columns]
        measured = drift_of(reference, current, limits.columns)
        values = {c: m[measure] for c, m in measured.items() if measure in m}
        gates.append(
            _worst_gate(name, measure, limit, values, missing=missing, production=production)
        )
    return gates


def _worst_gate(
    name: str,
    measure: Measure,
    limit: float,
    values: Mapping[str, float],
    *,
    missing: list[str],
    production: str,
) -> GateResult:
    if missing:
        message = f"{name}: no column {', '.join(map(repr, missing))} in the data set's profile"
        return GateResult(name, "max", limit, None, "failed", message)
    if not values:
        message = f"{name}: no column to measure against {production}'s training data"
        return GateResult(name, "max", limit, None, "skipped", message)
    worst = max(values, key=lambda c: (values[c], c))
    over = sorted((c for c in values if values[c] > limit), key=lambda c: -values[c])
    value = values[worst]
    against = f"against {production}'s training data"
    if not over:
        message = (
            f"{measure} of every column is at most {limit:g} {against} "
            f"(largest: {worst!r} {value:.4g})"
        )
        return GateResult(name, "max", limit, value, "passed", message)
    shown = ", ".join(f"{c!r} {values[c]:.4g}" for c in over[:5])
    more = f" and {len(over) - 5} more" if len(over) > 5 else ""
    message = (
        f"{measure} {against} is over {limit:g} for {shown}{more}; the data moved: check "
        "the data set, or raise the limit if the change is meant"
    )
    return GateResult(name, "max", limit, value, "failed", message)
