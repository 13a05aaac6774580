"""The build stage: a release candidate, numbered from history, built and hashed."""

from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import datetime
from pathlib import Path

from mlops_ci.app.artifact_sums import save_sums
from mlops_ci.app.candidates import claimed_candidate
from mlops_ci.app.context import REMOTE, Context, StageInputError
from mlops_ci.core.history import tag_name
from mlops_ci.core.records import StageRecord
from mlops_ci.core.results import StageResult
from mlops_ci.files.artifacts import artifact_files
from mlops_ci.manifest.model import Build

log = logging.getLogger(__name__)


def run_build(context: Context) -> StageResult:
    manifest = context.manifest
    build = manifest.build
    if build is None:
        raise StageInputError(f"{manifest.path}: the manifest has no build section")
    started = context.clock.now()
    head = context.vcs.head()
    with claimed_candidate(context, head) as (version, reasons):
        return _build(context, build, head=head, started=started, version=version, reasons=reasons)


def _build(
    context: Context,
    build: Build,
    *,
    head: str | None,
    started: datetime,
    version: str,
    reasons: tuple[str, ...],
) -> StageResult:
    manifest = context.manifest
    # Data that failed ingest make a candidate that can never be promoted.
    ingest = context.store.read(manifest.model.name, version, "ingest")
    data_failed = ingest is not None and ingest.verdict == "failed"
    # Everything in the artifacts folder ships: start it empty, so nothing stale does.
    shutil.rmtree(build.artifacts, ignore_errors=True)
    build.artifacts.mkdir(parents=True)
    # A metrics file left by an earlier build must not pass for this one's.
    build.metrics.unlink(missing_ok=True)
    result = context.run("build.command", build.command, version, "build")
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
        **({"problem": problem, "output_tail": result.output_tail} if problem else {}),
        **({"data_failed": True} if data_failed else {}),
    }
    record = StageRecord(
        model=manifest.model.name,
        version=version,
        stage="build",
        verdict="failed" if problem else "passed",
        state="failed" if problem or data_failed else "candidate",
        started_at=started,
        finished_at=context.clock.now(),
        git_sha=head,
        manifest_sha256=_sha256(manifest.path),
        params={"bump": ", ".join(reasons)[:500]},
        metrics={"artifact_bytes": float(size), "build_seconds": result.seconds},
        details=details,
    )
    save_sums(context, version, files)  # before the record: a record names what was hashed
    context.save(record)
    if record.state == "candidate" and context.preview is None:
        _tag(context, version, head)
        tracker = context.tracker_to_tell()
        if tracker is not None:
            tracker.register(
                version,
                _run_id(context, version),
                build.artifacts,
                [f.path for f in files],
                {"mlops-ci.state": "candidate"},
            )
            tracker.move_alias("candidate", version, context.clock.now())
    return StageResult("build", version, record.verdict, record.state, (), details, result.log)


def _tag(context: Context, version: str, head: str | None) -> None:
    if head is None:
        return
    manifest = context.manifest
    name = tag_name(manifest.versioning.tag, manifest.model.name, version)
    if not any(tag.name == name for tag in context.vcs.tags()):
        context.vcs.create_tag(
            name, head, f"{manifest.model.name} {version}", ("mlops-ci", "mlops-ci@localhost")
        )
    if context.shares:
        git = context.vcs.authenticated(context.environ)
        # Refused when it is there already: at this commit that is done, elsewhere a race
        # another job won (its records say which commit the number went to).
        if not git.push_tag(REMOTE, name) and git.remote_tag(REMOTE, name) != head:
            log.warning(
                "%s is on %s at another commit; this candidate is %s", name, REMOTE, version
            )


def _run_id(context: Context, version: str) -> str | None:
    record = context.store.read(context.manifest.model.name, version, "build")
    return record.mlflow_run_id if record else None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
