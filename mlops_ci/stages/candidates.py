"""Which candidate a stage works on, and what production's metrics were."""

from __future__ import annotations

from mlops_ci.core.lifecycle import State
from mlops_ci.core.records import StageRecord
from mlops_ci.core.versions import try_parse_version
from mlops_ci.stages.workspace import StageInputError, Workspace

LIVE = ("candidate", "tested", "validated")


def current_candidate(workspace: Workspace, version: str | None) -> StageRecord:
    """The build record of ``version``, or of the newest live candidate built at HEAD."""
    builds = [r for r in workspace.records() if r.stage == "build"]
    if version is not None:
        found = [r for r in builds if r.version == version]
        if not found:
            raise StageInputError(f"{version} was never built here; run `mlops-ci build`")
        return found[0]
    head = workspace.git.head()
    here = sorted(
        (r for r in builds if r.git_sha == head and r.state != "failed"),
        key=lambda r: r.finished_at,
    )
    if not here:
        raise StageInputError(
            "no candidate is built at this commit; run `mlops-ci build` first (or pass --version)"
        )
    return here[-1]


def state_before(workspace: Workspace, version: str, stage: str, previous: str) -> State:
    """The state ``stage`` starts from: what the ``previous`` stage left, so that running a
    stage again is a fresh run of it; an expired or released candidate stays so."""
    records = {r.stage: r for r in workspace.records() if r.version == version}
    newest = max(records.values(), key=lambda r: r.finished_at)
    if newest.state in ("expired", "released"):
        return newest.state
    if previous not in records:
        raise StageInputError(
            f"{version} has no {previous} record; run `mlops-ci {previous}` "
            f"before `mlops-ci {stage}`"
        )
    return records[previous].state


def production_metrics(workspace: Workspace) -> tuple[str, dict[str, float]] | None:
    """The test metrics of the version in production: from the records of the candidate it
    was promoted from, else from MLflow's ``production`` alias; None when there is none."""
    manifest = workspace.manifest
    scheme = manifest.versioning.scheme
    production = try_parse_version(manifest.model.version, scheme)
    if production is None:  # pragma: no cover - the manifest checks it
        return None
    for record in workspace.records():
        version = try_parse_version(record.version, scheme)
        if (
            version is not None
            and version.final == production
            and record.stage == "test"
            and record.verdict == "passed"
        ):
            return str(production), dict(record.metrics)
    tracker = workspace.tracker()
    if tracker is None:
        return None
    candidate = tracker.alias_target("production")
    if candidate is None:
        return None
    for run in tracker.runs_of(manifest.model.name, candidate):
        if run.data.tags.get("mlops-ci.stage") == "test":
            return str(production), dict(run.data.metrics)
    return None
