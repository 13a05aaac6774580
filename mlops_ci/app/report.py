"""``report``: a model's history gathered from its records (and MLflow), for the dashboard."""

from __future__ import annotations

from mlops_ci.app.context import Context
from mlops_ci.app.monitor import earlier_observations
from mlops_ci.report.history import ModelHistory, model_history


def gather_history(context: Context, observations: int) -> ModelHistory:
    """The records in git (or, for a model git has none of, MLflow's stage runs) and the
    latest ``observations`` in production; the current candidate is the newest one built
    from the commit nearest HEAD that has one."""
    manifest = context.manifest
    records = context.records()
    # Git holds every record since records moved there; MLflow (seconds to open) is asked
    # only for a model git knows nothing of: history logged before, or a ref that was lost.
    tracker = context.tracker() if not records else None
    if tracker is not None:
        records = tracker.stage_records(manifest.model.name)
    observed = earlier_observations(context, observations, ask_mlflow=tracker is not None)
    return model_history(
        manifest,
        records,
        observed,
        on_history=context.on_history,
        nearest=context.vcs.nearest_on_history,
    )
