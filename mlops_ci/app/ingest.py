"""The ingest stage: every data set of the manifest checked, fingerprinted and recorded
under the candidate its data will build (so lineage runs from data to model)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlops_ci.app.candidates import claimed_candidate, production_profiles, stored_profile
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.core.drift import drift_gates
from mlops_ci.core.gates import GateResult, overall
from mlops_ci.core.lifecycle import LifecycleError, State, advance
from mlops_ci.core.records import StageRecord
from mlops_ci.core.results import StageResult

if TYPE_CHECKING:  # polars is imported only when the stage runs
    from mlops_ci.data.checks.outcome import DataSetReport


def run_ingest(context: Context) -> StageResult:
    manifest = context.manifest
    if not manifest.data:
        raise StageInputError(f"{manifest.path}: the manifest has no data section to ingest")
    started = context.clock.now()
    head = context.vcs.head()
    with claimed_candidate(context, head) as (version, _):
        return _ingest(context, head, started, version)


def _ingest(context: Context, head: str | None, started: datetime, version: str) -> StageResult:
    from mlops_ci.data.data_set import check_data_set

    manifest = context.manifest
    reports: list[DataSetReport] = []
    for data_set in manifest.data:
        shown = data_set.shown(manifest.repository)
        meter = context.meters.start(f"ingest {version}, {shown}", unit="rows")
        try:
            reports.append(check_data_set(data_set, shown, meter))
        finally:
            meter.finish()
    gates = [outcome.to_gate(r.name) for r in reports for outcome in r.outcomes]
    gates += _drift_gates(context, reports)
    verdict = overall(gates)
    state = _state_after(context, version, verdict == "passed")
    details: dict[str, Any] = {"data": [_data_json(report) for report in reports]}
    details["gates"] = [gate.to_json() for gate in gates]
    context.save(
        StageRecord(
            model=manifest.model.name,
            version=version,
            stage="ingest",
            verdict=verdict,
            state=state,
            started_at=started,
            finished_at=context.clock.now(),
            git_sha=head,
            params=_lineage(reports),
            metrics=_metrics(reports),
            details=details,
        )
    )
    context.mark_state(version, state)
    return StageResult("ingest", version, verdict, state, tuple(gates), details)


def _drift_gates(context: Context, reports: list[DataSetReport]) -> list[GateResult]:
    """Each ``data[].drift`` limit held against the profile of the same data set that
    production's candidate was ingested with."""
    limited = [(d, r) for d, r in zip(context.manifest.data, reports, strict=True) if d.drift]
    if not limited:
        return []
    production = production_profiles(context)
    version, profiles = production if production is not None else (None, {})
    gates: list[GateResult] = []
    for data_set, report in limited:
        assert data_set.drift is not None  # noqa: S101 - chosen above
        reference = stored_profile(version, profiles, data_set.name)
        if report.profile is None:  # pragma: no cover - every engine profiles
            continue
        gates += drift_gates(data_set.name, data_set.drift, report.profile, reference, version)
    return gates


def _state_after(context: Context, version: str, passed: bool) -> State:
    """Ingest starts a candidate: passed data make it a candidate (again, when data fixed
    without a commit pass this time), failed data fail it. A candidate already built keeps
    its state when the data pass, and fails when they no longer do, if it still can."""
    records = [r for r in context.records() if r.version == version]
    built = [r for r in records if r.stage != "ingest"]
    if not built:
        return "candidate" if passed else "failed"
    current = max(built, key=lambda r: r.finished_at).state
    if passed:
        return current
    try:
        return advance(version, current, "failed")
    except LifecycleError:
        return current


def _data_json(report: DataSetReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "file": report.file,
        "rows": report.rows,
        "fingerprint": report.fingerprint.to_json(),
        "checks": [
            {
                "check": o.check,
                "column": o.column,
                "rule": o.rule,
                "threshold": o.threshold,
                "value": o.value,
                "passed": o.passed,
                "rows": list(o.rows),
                "message": o.message,
            }
            for o in report.outcomes
        ],
        **({"profile": report.profile.to_json()} if report.profile is not None else {}),
    }


def _lineage(reports: list[DataSetReport]) -> dict[str, str]:
    """What MLflow keeps as the run's parameters: each data set's file, content and schema."""
    params = {}
    for report in reports:
        prefix = f"data.{report.name}"
        params[f"{prefix}.file"] = report.file
        if report.fingerprint.blake3 is not None:
            params[f"{prefix}.blake3"] = report.fingerprint.blake3
        params[f"{prefix}.schema_sha256"] = report.fingerprint.schema_sha256
    return params


def _metrics(reports: list[DataSetReport]) -> dict[str, float]:
    metrics = {}
    for report in reports:
        prefix = f"data.{report.name}"
        metrics[f"{prefix}.rows"] = float(report.rows)
        if report.fingerprint.bytes is not None:
            metrics[f"{prefix}.bytes"] = float(report.fingerprint.bytes)
        metrics[f"{prefix}.failed_checks"] = float(sum(not o.passed for o in report.outcomes))
    return metrics
