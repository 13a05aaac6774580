"""The model in production against its service level objectives and its own history.

Pure: the observation, the objectives and the earlier observations are passed in. A
sudden change is a move larger than ``max_change`` (a fraction) and than ``min_delta``
(absolute) against the median of the last ``window`` observations of the same metric, and,
when ``max_score`` is set, further from it than that robust score (see Regression); a
metric with no history yet is reported as such, not as a change.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mlops_ci.core.codehost import Issue
from mlops_ci.core.gates import GateResult, absolute_gates
from mlops_ci.core.settings import Bounds, Regression

BreachKind = Literal["slo", "sudden-change", "drift"]
BREACH_KINDS: tuple[BreachKind, ...] = ("slo", "sudden-change", "drift")


# Series of the exporter itself (its process, runtime and client library), watched only
# when named in monitor.slo or monitor.metrics.
_RUNTIME = re.compile(r"(process|python|go|promhttp)_|.*_(created|bucket)(\{|$)")


@dataclass(frozen=True)
class Change:
    """One metric against the median of its recent history."""

    name: str
    value: float
    median: float | None
    observations: int
    change: float | None  # relative, None without history or against a zero median
    sudden: bool
    # Robust standard deviations from the median; None with fewer than 3 observations,
    # inf for any move from a history that never moved.
    score: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": _finite(self.value),
            "median": self.median,
            "observations": self.observations,
            "change": self.change,
            "sudden": self.sudden,
            "score": _finite(self.score),
        }


@dataclass(frozen=True)
class MonitorResult:
    observed: Mapping[str, float]
    slo: tuple[GateResult, ...]
    changes: tuple[Change, ...]
    regression: Regression
    # monitor.drift: production's features against the training data's profile
    drift: tuple[GateResult, ...] = ()

    @property
    def breaches(self) -> dict[BreachKind, list[str]]:
        """The sentence of each breach, by kind; a kind without breaches is absent."""
        found: dict[BreachKind, list[str]] = {}
        slo = [gate.message for gate in self.slo if gate.verdict == "failed"]
        if slo:
            found["slo"] = slo
        sudden = [
            _change_sentence(change, self.regression) for change in self.changes if change.sudden
        ]
        if sudden:
            found["sudden-change"] = sudden
        drift = [gate.message for gate in self.drift if gate.verdict == "failed"]
        if drift:
            found["drift"] = drift
        return found

    @property
    def verdict(self) -> Literal["passed", "failed"]:
        return "failed" if self.breaches else "passed"


def watched(
    observed: Mapping[str, float],
    slo: Iterable[str],
    metrics: Sequence[str],
    cumulative: Collection[str] = (),
) -> dict[str, float]:
    """The series to evaluate and keep: those ``metrics`` names when given, else every
    series but the exporter's own and running totals; each SLO's series in any case."""
    wanted = set(slo) | set(metrics)
    if metrics:
        return {name: value for name, value in observed.items() if name in wanted}
    return {
        name: value
        for name, value in observed.items()
        if name in wanted or not (_RUNTIME.match(name) or name in cumulative)
    }


def evaluate(
    observed: Mapping[str, float],
    slo: Iterable[tuple[str, Bounds]],
    history: Sequence[Mapping[str, float]],
    regression: Regression,
) -> MonitorResult:
    """``history`` is the earlier observations, newest first."""
    gates = tuple(absolute_gates(slo, observed))
    changes = []
    for name in sorted(observed):
        value = observed[name]
        earlier = [
            o[name] for o in history[: regression.window] if name in o and math.isfinite(o[name])
        ]
        if not earlier or not math.isfinite(value):
            changes.append(Change(name, value, None, len(earlier), None, False))
            continue
        median = statistics.median(earlier)
        if median == 0:
            change = None if value == 0 else math.inf
        else:
            change = (value - median) / abs(median)
        score = _robust_score(value, median, earlier)
        sudden = (
            change is not None
            and abs(change) > regression.max_change
            and abs(value - median) > regression.min_delta
            and (regression.max_score is None or score is None or score > regression.max_score)
        )
        changes.append(Change(name, value, median, len(earlier), _finite(change), sudden, score))
    return MonitorResult(dict(observed), gates, tuple(changes), regression)


def _robust_score(value: float, median: float, earlier: Sequence[float]) -> float | None:
    """How many robust standard deviations ``value`` lies from ``median``: the median
    absolute deviation, scaled to a normal distribution's deviation, is not moved by the
    one outlier among the window that a standard deviation would follow."""
    if len(earlier) < 3:
        return None
    spread = 1.4826 * statistics.median(abs(x - median) for x in earlier)
    if spread == 0:
        return 0.0 if value == median else math.inf
    return abs(value - median) / spread


def _change_sentence(change: Change, regression: Regression) -> str:
    direction = "rose" if change.value > (change.median or 0) else "fell"
    amount = "from zero" if change.change is None else f"{abs(change.change):.1%}"
    return (
        f"{change.name} {direction} {amount} to {change.value:.6g} against the median "
        f"{change.median:.6g} of its last {change.observations} observation"
        f"{'s' * (change.observations != 1)} (window {regression.window}"
        f"{_score_text(change.score) if regression.max_score is not None else ''})"
    )


def _score_text(score: float | None) -> str:
    if score is None:
        return ""
    if math.isinf(score):
        return "; it never moved before"
    return f"; {score:.1f} robust deviations off"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class IssueAction:
    kind: BreachKind
    number: int
    url: str
    action: str  # "opened", "updated", "unchanged", "closed"


@dataclass(frozen=True)
class Feedback:
    since: datetime | None  # the production version's release; None: all time
    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class MonitorOutcome:
    model: str
    version: str
    source: str
    at: datetime
    result: MonitorResult
    history: int  # earlier observations found
    run_id: str | None
    issues: tuple[IssueAction, ...]
    feedback: Feedback | None
