"""The build stage: a release candidate, numbered from history, built and hashed."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.adapters.process import run_command
from mlops_ci.core.history import tag_name
from mlops_ci.core.records import StageRecord
from mlops_ci.stages.candidates import LIVE, candidate_for_commit
from mlops_ci.stages.workspace import StageInputError, StageResult, Workspace, artifact_files

if TYPE_CHECKING:
    from mlops_ci.adapters.mlflow import MlflowTracker
    from mlops_ci.manifest.model import Manifest


def run_build(workspace: Workspace) -> StageResult:
    manifest = workspace.manifest
    build = manifest.build
    if build is None:
        raise StageInputError(f"{manifest.path}: the manifest has no build section")
    started = workspace.now()
    head = workspace.git.head()
    version, reasons = candidate_for_commit(workspace, head)
    # Data that failed ingest make a candidate that can never be promoted.
    ingest = workspace.store.read(manifest.model.name, version, "ingest")
    data_failed = ingest is not None and ingest.verdict == "failed"
    # Everything in the artifacts folder ships: start it empty, so nothing stale does.
    shutil.rmtree(build.artifacts, ignore_errors=True)
    build.artifacts.mkdir(parents=True)
    # A metrics file left by an earlier build must not pass for this one's.
    build.metrics.unlink(missing_ok=True)
    result = run_command(
        "build.command",
        build.command,
        placeholders=workspace.placeholders(version),
        cwd=manifest.root,
        environ=workspace.command_environment(version, "build"),
        log=workspace.log_path(version, "build"),
    )
    files = artifact_files(build.artifacts) if result.exit_code == 0 else []
    size = sum(f.size for f in files)
    if result.timed_out:
        problem = f"build.command ran past its timeout of {build.command.timeout}"
    elif result.exit_code != 0:
        problem = f"build.command exited with {result.exit_code}"
    elif not files:
        problem = f"build.command wrote nothing into {build.artifacts.name}/"
    else:
        problem = ""
    details = {
        "command": list(result.argv),
        "exit_code": result.exit_code,
        "seconds": round(result.seconds, 3),
        "bump_reasons": list(reasons),
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
        "size": size,
        **({"problem": problem, "output_tail": result.tail()} if problem else {}),
        **({"data_failed": True} if data_failed else {}),
    }
    record = StageRecord(
        model=manifest.model.name,
        version=version,
        stage="build",
        verdict="failed" if problem else "passed",
        state="failed" if problem or data_failed else "candidate",
        started_at=started,
        finished_at=workspace.now(),
        git_sha=head,
        manifest_sha256=_sha256(manifest.path),
        params={"bump": ", ".join(reasons)[:500]},
        metrics={"artifact_bytes": float(size), "build_seconds": result.seconds},
        details=details,
    )
    workspace.save(record)
    if record.state == "candidate":
        _tag(workspace, version, head)
        tracker = workspace.tracker()
        if tracker is not None:
            tracker.register(
                version,
                _run_id(workspace, version),
                build.artifacts,
                [f.path for f in files],
                {"mlops-ci.state": "candidate"},
            )
            tracker.move_alias("candidate", version, workspace.now())
    return StageResult("build", version, record.verdict, record.state, (), details, result.log)


def _tag(workspace: Workspace, version: str, head: str | None) -> None:
    if head is None:
        return
    manifest = workspace.manifest
    name = tag_name(manifest.versioning.tag, manifest.model.name, version)
    if not any(tag.name == name for tag in workspace.git.tags()):
        workspace.git.run(
            "-c",
            "user.name=mlops-ci",
            "-c",
            "user.email=mlops-ci@localhost",
            "tag",
            "-a",
            "-m",
            f"{manifest.model.name} {version}",
            name,
            head,
        )


def _run_id(workspace: Workspace, version: str) -> str | None:
    record = workspace.store.read(workspace.manifest.model.name, version, "build")
    return record.mlflow_run_id if record else None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def register_unregistered(
    tracker: MlflowTracker, manifest: Manifest, records: Iterable[StageRecord]
) -> tuple[list[str], list[str]]:
    """Register the live candidates MLflow does not know (built while it was down, or with
    --no-tracking, then synced): the versions registered, and a sentence for each that
    cannot be, because the artifacts folder no longer holds the files it was built with."""
    records = list(records)
    newest: dict[str, StageRecord] = {}
    for record in records:
        if record.version not in newest or record.finished_at > newest[record.version].finished_at:
            newest[record.version] = record
    builds = [
        r
        for r in records
        if r.stage == "build" and r.verdict == "passed" and newest[r.version].state in LIVE
    ]
    known = set(tracker.registered_candidates()) if builds else set()
    registered, refused = [], []
    folder = manifest.build.artifacts if manifest.build else None
    found: dict[str, str] | None = None  # the folder's files, hashed once when first needed
    for build in sorted(builds, key=lambda r: r.finished_at):
        if build.version in known:
            continue
        recorded = {f["path"]: f["sha256"] for f in build.details.get("files", [])}
        if found is None:
            found = {f.path: f.sha256 for f in artifact_files(folder)} if folder else {}
        if folder is None or not recorded or recorded != found:
            refused.append(
                f"{build.version} is not registered in MLflow: its files are no longer in the "
                "artifacts folder; build it again to register it"
            )
            continue
        tracker.register(
            build.version,
            build.mlflow_run_id,
            folder,
            sorted(recorded),
            {"mlops-ci.state": newest[build.version].state},
        )
        registered.append(build.version)
    return registered, refused
