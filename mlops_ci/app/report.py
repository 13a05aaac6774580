"""``report``: a model's history gathered from its records and MLflow, for the dashboard."""

from __future__ import annotations

from mlops_ci.app.context import Context
from mlops_ci.report.history import ModelHistory, model_history


def gather_history(context: Context, observations: int) -> ModelHistory:
    """The records here, the stage runs only MLflow has (a fresh checkout in CI) and the
    latest ``observations`` in production."""
    manifest = context.manifest
    records = context.records()
    found = []
    tracker = context.tracker()
    if tracker is not None:
        here = {(r.version, r.stage) for r in records}
        records += [
            r
            for r in tracker.stage_records(manifest.model.name)
            if (r.version, r.stage) not in here
        ]
        if observations:
            found = tracker.observations(manifest.model.name, observations)
    return model_history(manifest, records, found)
