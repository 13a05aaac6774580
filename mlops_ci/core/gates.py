"""Gates: a value against its threshold, and against the version in production.

Pure: values, thresholds and production's values are passed in. A missing metric fails its
gate with a sentence saying so; a relative gate with nothing in production is skipped, not
passed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlops_ci.core.settings import Bounds, RelativeBounds

Verdict = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class GateResult:
    """One check: ``name`` (a metric or a measure) held to ``threshold``."""

    name: str
    rule: str  # "min", "max", "max_drop", "max_rise", "max_gap" (core/slices.py)
    threshold: float
    value: float | None
    verdict: Verdict
    message: str
    production: float | None = None

    @property
    def delta(self) -> float | None:
        if self.value is None or self.production is None:
            return None
        return self.value - self.production

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "rule": self.rule,
            "threshold": self.threshold,
            "value": self.value,
            "production": self.production,
            "delta": self.delta,
            "verdict": self.verdict,
            "message": self.message,
        }


def flatten_metrics(data: Any, prefix: str = "") -> dict[str, float]:
    """Numbers in a metrics file, nested objects read as dotted names; booleans and text are
    not metrics and are left out."""
    found: dict[str, float] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            found.update(flatten_metrics(value, f"{prefix}{key}."))
    elif isinstance(data, int | float) and not isinstance(data, bool) and math.isfinite(data):
        found[prefix.rstrip(".")] = float(data)
    return found


def absolute_gates(
    gates: Iterable[tuple[str, Bounds]], values: Mapping[str, float], unit: str = ""
) -> list[GateResult]:
    results = []
    for name, bounds in gates:
        value = values.get(name)
        for rule, threshold in (("min", bounds.min), ("max", bounds.max)):
            if threshold is None:
                continue
            if value is None:
                results.append(
                    GateResult(
                        name, rule, threshold, None, "failed", f"{name} is missing from the metrics"
                    )
                )
                continue
            ok = value >= threshold if rule == "min" else value <= threshold
            sign = ">=" if rule == "min" else "<="
            results.append(
                GateResult(
                    name,
                    rule,
                    threshold,
                    value,
                    "passed" if ok else "failed",
                    f"{name} {_show(value, unit)} {'meets' if ok else 'fails'} {sign} "
                    f"{_show(threshold, unit)}",
                )
            )
    return results


def relative_gates(
    gates: Iterable[tuple[str, RelativeBounds]],
    values: Mapping[str, float],
    production: Mapping[str, float] | None,
    production_version: str | None,
) -> list[GateResult]:
    results = []
    for name, bounds in gates:
        for rule, threshold in (("max_drop", bounds.max_drop), ("max_rise", bounds.max_rise)):
            if threshold is None:
                continue
            value = values.get(name)
            if production is None:
                results.append(
                    GateResult(
                        name,
                        rule,
                        threshold,
                        value,
                        "skipped",
                        f"{name}: no release yet to compare with",
                    )
                )
                continue
            before = production.get(name)
            if value is None or before is None:
                missing = (
                    "the candidate's metrics"
                    if value is None
                    else (f"the metrics of {production_version}")
                )
                results.append(
                    GateResult(
                        name,
                        rule,
                        threshold,
                        value,
                        "failed",
                        f"{name} is missing from {missing}",
                        before,
                    )
                )
                continue
            change = value - before
            ok = -change <= threshold if rule == "max_drop" else change <= threshold
            moved = "drops" if change < 0 else "rises"
            results.append(
                GateResult(
                    name,
                    rule,
                    threshold,
                    value,
                    "passed" if ok else "failed",
                    f"{name} {moved} {abs(change):.6g} against {production_version} "
                    f"({before:.6g} → {value:.6g}); {rule} {threshold:g}",
                    before,
                )
            )
    return results


def overall(results: Iterable[GateResult]) -> Verdict:
    verdicts = {r.verdict for r in results}
    return "failed" if "failed" in verdicts else "passed"


def _show(value: float, unit: str) -> str:
    return f"{value:.6g}{unit}"
