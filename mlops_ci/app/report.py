"""``report``: a model's history gathered from its records (and MLflow), for the dashboard."""

from __future__ import annotations

from mlops_ci.app.context import Context
from mlops_ci.app.monitor import earlier_observations
from mlops_ci.report.history import ModelHistory, model_history


def gather_history(context: Context, observations: int) -> ModelHistory:
    """The records in git, the stage runs only MLflow has (written by an mlops-ci before
    records were in git) and the latest ``observations`` in production."""
    manifest = context.manifest
    records = context.records()
    tracker = context.tracker()
    if tracker is not None:
        here = {(r.version, r.stage) for r in records}
        records += [
            r
            for r in tracker.stage_records(manifest.model.name)
            if (r.version, r.stage) not in here
        ]
    return model_history(manifest, records, earlier_observations(context, observations))
