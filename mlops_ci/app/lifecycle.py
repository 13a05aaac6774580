"""``ingest|build|test|validate`` and ``run``: the lifecycle's stages in order, one result
each, stopping at the first failure unless asked to measure the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlops_ci.app.build import run_build
from mlops_ci.app.context import Context
from mlops_ci.app.ingest import run_ingest
from mlops_ci.app.test import run_test
from mlops_ci.app.validate import run_validate
from mlops_ci.core.lifecycle import STAGES
from mlops_ci.core.results import StageResult

_RUN: dict[str, Callable[[Context, str | None], StageResult]] = {
    "ingest": lambda context, version: run_ingest(context),
    "build": lambda context, version: run_build(context),
    "test": run_test,
    "validate": run_validate,
}


def stages_until(context: Context, last: str) -> list[str]:
    """The stages up to ``last`` that the manifest declares: a model without data sets has
    none to ingest, one without a test or validate section no such gates to pass."""
    manifest = context.manifest
    declared = {
        "ingest": bool(manifest.data),
        "test": manifest.test is not None,
        "validate": manifest.validate is not None,
    }
    return [stage for stage in STAGES[: STAGES.index(last) + 1] if declared.get(stage, True)]


# Told of each stage as it starts (no result yet) and as it ends (its result, seconds).
Progress = Callable[[str, StageResult | None, float], None]


def run_stages(
    context: Context,
    stages: Sequence[str],
    version: str | None,
    *,
    keep_going: bool,
    progress: Progress | None = None,
) -> list[StageResult]:
    """Each stage on the candidate the one before it worked on."""
    results: list[StageResult] = []
    for stage in stages:
        started = context.clock.now()
        if progress is not None:
            progress(stage, None, 0.0)
        result = _RUN[stage](context, version)
        if progress is not None:
            progress(stage, result, (context.clock.now() - started).total_seconds())
        results.append(result)
        version = result.version
        if result.verdict == "failed" and not keep_going:
            break
    return results
