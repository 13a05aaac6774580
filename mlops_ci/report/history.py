"""A model's history for the dashboard: each candidate's state, metrics and measures,
the gates' pass rates, and the observations of the model in production.

Pure: records, MLflow's runs (as records) and observations are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mlops_ci.core.gates import absolute_gates
from mlops_ci.core.observations import Observation
from mlops_ci.core.production import production_test
from mlops_ci.core.records import StageRecord
from mlops_ci.core.settings import Bounds
from mlops_ci.core.versions import Scheme, try_parse_version
from mlops_ci.manifest.model import Manifest

STAGE_ORDER = ("ingest", "build", "test", "validate", "image", "publish", "expire")
MEASURES = ("size_mib", "p50_ms", "p95_ms", "peak_rss_mib")
LIVE = ("candidate", "tested", "validated")


@dataclass(frozen=True)
class VersionHistory:
    version: str
    state: str
    built_at: datetime | None
    metrics: Mapping[str, float]  # from test
    measures: Mapping[str, float]  # from validate
    released_as: str | None = None
    stages: Mapping[str, str] = field(default_factory=dict)  # stage → verdict
    commit: str | None = None  # built from


@dataclass(frozen=True)
class GateRate:
    name: str
    rule: str
    threshold: float
    passed: int
    measured: int

    @property
    def rate(self) -> float | None:
        return self.passed / self.measured if self.measured else None


@dataclass(frozen=True)
class ModelHistory:
    model: str
    production: str  # model.version in the manifest
    versions: tuple[VersionHistory, ...]  # oldest first, by version precedence
    observations: tuple[Observation, ...]  # oldest first
    key_metrics: tuple[str, ...]
    gate_rates: tuple[GateRate, ...]
    slo: tuple[tuple[str, Bounds], ...]
    released_from: str | None = None  # the candidate production was released from
    current: str | None = None  # the newest live candidate on the checked-out history

    @property
    def production_candidate(self) -> VersionHistory | None:
        return self._find(self.released_from)

    @property
    def current_candidate(self) -> VersionHistory | None:
        return self._find(self.current)

    def _find(self, version: str | None) -> VersionHistory | None:
        return next((v for v in self.versions if v.version == version), None)


def model_history(
    manifest: Manifest,
    records: Iterable[StageRecord],
    observations: Sequence[Observation],
    on_history: Callable[[str], bool] = lambda commit: True,
    nearest: Callable[[Collection[str]], str | None] | None = None,
) -> ModelHistory:
    """``on_history`` says whether a commit is in the checked-out history, ``nearest``
    which of some commits is nearest HEAD on it: the current candidate is the newest live
    one built from that commit, never one of a commit reset away or on another branch
    (without ``nearest``: the newest live candidate)."""
    records = list(records)
    by_version: dict[str, list[StageRecord]] = {}
    released: dict[str, str] = {}
    for record in records:
        if record.stage == "publish":
            candidate = str(record.details.get("candidate") or "")
            if candidate:
                released[candidate] = record.version
            continue
        by_version.setdefault(record.version, []).append(record)
    scheme = manifest.versioning.scheme
    versions = []
    for version, found in by_version.items():
        found.sort(
            key=lambda r: (
                r.finished_at,
                STAGE_ORDER.index(r.stage) if r.stage in STAGE_ORDER else 9,
            )
        )
        stages = {r.stage: r.verdict for r in found}
        latest = {r.stage: r for r in found}
        state = "released" if version in released else found[-1].state
        build = latest.get("build")
        versions.append(
            VersionHistory(
                version=version,
                state=state,
                built_at=build.finished_at if build else found[0].started_at,
                metrics=_finite(latest["test"].metrics) if "test" in latest else {},
                measures=_finite(latest["validate"].metrics) if "validate" in latest else {},
                released_as=released.get(version),
                stages=stages,
                commit=build.git_sha if build else found[0].git_sha,
            )
        )
    versions.sort(key=lambda v: _precedence(v.version, scheme, v.built_at))
    test = manifest.test
    declared: list[str] = []
    if test is not None:
        declared += [name for name, _ in test.gates]
        declared += [name for name, _ in test.against_production]
        declared += list(test.metrics)
    seen = sorted({name for v in versions for name in v.metrics})
    key_metrics = tuple(dict.fromkeys([n for n in declared if n in seen] + seen))
    from_test = production_test(records, manifest.model.version, scheme, on_history)
    live = [v for v in reversed(versions) if v.state in LIVE]
    if nearest is not None:
        built = nearest({v.commit for v in live if v.commit})
        live = [v for v in live if v.commit == built]
    current = live[0] if live else None
    return ModelHistory(
        model=manifest.model.name,
        production=manifest.model.version,
        versions=tuple(versions),
        observations=tuple(sorted(observations, key=lambda o: o.at)),
        key_metrics=key_metrics,
        gate_rates=tuple(_gate_rates(manifest, versions)),
        slo=tuple(manifest.monitor.slo) if manifest.monitor else (),
        released_from=from_test.version if from_test else None,
        current=current.version if current else None,
    )


def _gate_rates(manifest: Manifest, versions: Sequence[VersionHistory]) -> list[GateRate]:
    """Each gate of the manifest as it stands, held to every version that measured it."""
    gates: list[tuple[str, str, Bounds, str]] = []
    if manifest.test is not None:
        gates += [(name, "test", bounds, "metrics") for name, bounds in manifest.test.gates]
    validate = manifest.validate
    if validate is not None:
        if validate.max_size is not None:
            gates.append(("size_mib", "validate", Bounds(max=validate.max_size / 2**20), "m"))
        if validate.latency is not None:
            gates += [
                (name, "validate", Bounds(max=limit), "m")
                for name, limit in (
                    ("p50_ms", validate.latency.p50_ms),
                    ("p95_ms", validate.latency.p95_ms),
                )
                if limit is not None
            ]
        if validate.max_memory is not None:
            gates.append(("peak_rss_mib", "validate", Bounds(max=validate.max_memory / 2**20), "m"))
    rates = []
    for name, _, bounds, source in gates:
        for rule, threshold in (("min", bounds.min), ("max", bounds.max)):
            if threshold is None:
                continue
            single = Bounds(min=threshold) if rule == "min" else Bounds(max=threshold)
            measured = passed = 0
            for version in versions:
                values = version.metrics if source == "metrics" else version.measures
                if name not in values:
                    continue
                measured += 1
                passed += absolute_gates([(name, single)], values)[0].verdict == "passed"
            rates.append(GateRate(name, rule, threshold, passed, measured))
    return rates


def _precedence(version: str, scheme: Scheme, built: datetime | None) -> tuple[object, ...]:
    parsed = try_parse_version(version, scheme)
    return (
        (0, parsed, "") if parsed is not None else (1, built.isoformat() if built else "", version)
    )


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if math.isfinite(v)}
