"""Metrics per slice of the data (a group of a sensitive or business column) held to
``test.slices``: each group's value to min/max, and the gap between a column's groups to
``max_gap`` (fairness: recall's gap between groups at most 0.05, say).

The metrics file holds them as ``slices: {column: {group: {metric: value}}}``. It is the
build's own output, so every level is checked and anything else is left out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlops_ci.core.gates import GateResult, absolute_gates
from mlops_ci.core.settings import Bounds


@dataclass(frozen=True)
class SliceRule:
    """What every slice's ``metric`` must meet, and the largest gap between slices."""

    bounds: Bounds
    max_gap: float | None = None


# column -> group -> metric -> value
SliceMetrics = Mapping[str, Mapping[str, Mapping[str, float]]]


def slice_metrics(data: object) -> dict[str, dict[str, dict[str, float]]]:
    """The ``slices`` of a metrics file's JSON, with only finite numbers kept."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    slices = data.get("slices") if isinstance(data, dict) else None
    if not isinstance(slices, dict):
        return found
    for column, groups in slices.items():
        if not isinstance(groups, dict):
            continue
        for group, metrics in groups.items():
            if not isinstance(metrics, dict):
                continue
            numbers = {
                name: float(value)
                for name, value in metrics.items()
                if isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            }
            if numbers:
                found.setdefault(str(column), {})[str(group)] = numbers
    return found


def slice_gates(rules: Sequence[tuple[str, SliceRule]], slices: SliceMetrics) -> list[GateResult]:
    """One gate per group and bound, and one per column for the gap; a rule no slice
    reports is a failed gate that says so."""
    results: list[GateResult] = []
    for metric, rule in rules:
        columns = {c: g for c, g in slices.items() if any(metric in m for m in g.values())}
        if not columns:
            threshold = rule.max_gap if rule.max_gap is not None else _any_bound(rule.bounds)
            results.append(
                GateResult(
                    f"slices.{metric}",
                    "max_gap" if rule.max_gap is not None else "min",
                    threshold,
                    None,
                    "failed",
                    f"no slice in the metrics file reports {metric} (test.slices names it); "
                    "write slices: {column: {group: {metric: value}}}",
                )
            )
            continue
        for column, groups in sorted(columns.items()):
            values = {g: m[metric] for g, m in sorted(groups.items()) if metric in m}
            named = {f"slices.{column}.{group}.{metric}": v for group, v in values.items()}
            results += absolute_gates(((name, rule.bounds) for name in named), named)
            if rule.max_gap is not None:
                results.append(_gap_gate(metric, column, values, rule.max_gap))
    return results


def _gap_gate(metric: str, column: str, values: Mapping[str, float], max_gap: float) -> GateResult:
    low = min(values, key=lambda g: values[g])
    high = max(values, key=lambda g: values[g])
    gap = values[high] - values[low]
    ok = gap <= max_gap
    return GateResult(
        f"slices.{column}.{metric}.gap",
        "max_gap",
        max_gap,
        gap,
        "passed" if ok else "failed",
        f"{metric} differs by {gap:.4g} between {column} groups ({high} {values[high]:.4g}, "
        f"{low} {values[low]:.4g}): {'within' if ok else 'more than'} max_gap {max_gap:.4g}",
    )


def _any_bound(bounds: Bounds) -> float:
    return bounds.min if bounds.min is not None else bounds.max if bounds.max is not None else 0.0
