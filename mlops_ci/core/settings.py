"""The settings of a manifest that the domain computes with, as values: bounds and relative
bounds of gates, the sudden-change rule of monitoring, the drift limits, the bump level, the
kinds of personal data. Only types live here, so the manifest's typed model loads without
the rules that use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BumpLevel = Literal["auto", "major", "minor", "patch"]
PiiKind = Literal["email", "phone", "ip_address", "card_number"]


@dataclass(frozen=True)
class Bounds:
    """Inclusive bounds; either side may be open."""

    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class RelativeBounds:
    max_drop: float | None = None
    max_rise: float | None = None


@dataclass(frozen=True)
class Regression:
    """A sudden change moves more than ``max_change`` (relative) and more than
    ``min_delta`` (absolute) from the window's median, and, with ``max_score``, lies more
    than that many robust standard deviations (1.4826 times the median absolute deviation)
    from it: a tiny rate doubling, or a metric that always wobbles, is no alarm."""

    window: int = 5
    max_change: float = 0.1
    min_delta: float = 0.0
    max_score: float | None = None


# Drift between two profiles (core/drift.py measures it).
Measure = Literal["psi", "ks", "wasserstein"]
MEASURES: tuple[Measure, ...] = ("psi", "ks", "wasserstein")


@dataclass(frozen=True)
class DriftLimits:
    """``data[].drift``: the largest drift allowed, per measure; ``columns`` limits the
    columns measured (all that both profiles hold when empty)."""

    psi: float | None = None
    ks: float | None = None
    wasserstein: float | None = None
    columns: tuple[str, ...] = ()

    def limit(self, measure: Measure) -> float | None:
        limit: float | None = getattr(self, measure)
        return limit
