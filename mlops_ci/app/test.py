"""The test stage: the candidate's metrics against its accuracy gates and production."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_ci.app.candidates import (
    conclude,
    current_candidate,
    production_metrics,
    state_before,
)
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.core.gates import GateResult, absolute_gates, flatten_metrics, relative_gates
from mlops_ci.core.results import StageResult
from mlops_ci.core.slices import slice_gates, slice_metrics


def run_test(context: Context, version: str | None = None) -> StageResult:
    manifest = context.manifest
    test, build = manifest.test, manifest.build
    if test is None or build is None:
        raise StageInputError(f"{manifest.path}: the manifest has no test (or build) section")
    candidate = current_candidate(context, version)
    version = candidate.version
    current = state_before(context, version, "test", "build")
    started = context.clock.now()
    details: dict[str, object] = {}
    gates: list[GateResult] = []
    log = None
    if test.command is not None:
        build.metrics.unlink(missing_ok=True)  # the command writes it anew
        result = context.run("test.command", test.command, version, "test")
        log = result.log
        details.update(
            command=list(result.argv), exit_code=result.exit_code, seconds=round(result.seconds, 3)
        )
        if result.exit_code != 0:
            details.update(
                problem="test.command failed"
                if not result.timed_out
                else f"test.command ran past its timeout of {test.command.timeout}",
                output_tail=result.output_tail,
            )
    data = _read_metrics(build.metrics, details)
    metrics = flatten_metrics(data)
    production = production_metrics(context)
    gates += absolute_gates(test.gates, metrics)
    if test.slices:
        gates += slice_gates(test.slices, slice_metrics(data))
    gates += relative_gates(
        test.against_production,
        metrics,
        production[1] if production else None,
        production[0] if production else None,
    )
    details["production"] = production[0] if production else None
    return conclude(
        context,
        candidate,
        stage="test",
        current=current,
        target="tested",
        started=started,
        gates=gates,
        metrics=metrics,
        details=details,
        log=log,
    )


def _read_metrics(file: Path, details: dict[str, object]) -> object:
    """The metrics file's JSON, or None (and the stage's problem) when there is none."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        details.setdefault("problem", f"the metrics file {file.name} was not written")
    except (OSError, ValueError) as error:
        details.setdefault("problem", f"the metrics file {file.name} is not JSON ({error})")
    return None
