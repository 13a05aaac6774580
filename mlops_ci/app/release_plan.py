"""The release plan of a candidate: every file change and the pull request's text, computed
from the files as they are on the base branch; nothing is touched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mlops_ci.core.release import Candidate, FileChange, ReleasePlan, Target, branch_name
from mlops_ci.deploy.model_version import set_model_version
from mlops_ci.deploy.targets import Pin, target
from mlops_ci.report.release import changelog_with, pull_request_body, release_notes


def plan_release(
    *,
    model: str,
    environment: str | None,
    strategy: str,
    candidate: Candidate,
    manifest_path: str,
    manifest_text: str,
    targets: Sequence[Target],
    changelog: str | None,
    today: date,
    changelog_path: str = "CHANGELOG.md",
    rollback: bool = False,
) -> ReleasePlan:
    """Every file change and the pull request's text for releasing ``candidate``."""
    changes = [
        FileChange(
            manifest_path,
            set_model_version(manifest_text, manifest_path, candidate.release_version),
        )
    ]
    for deploy in targets:
        changes.append(FileChange(deploy.path, _pin(deploy, strategy, candidate)))
    notes = release_notes(model, candidate, rollback=rollback)
    changes.append(
        FileChange(changelog_path, changelog_with(changelog, model, candidate, today, notes))
    )
    if rollback:
        where = f" in {environment}" if environment else ""
        title = f"Roll back {model} to {candidate.release_version}{where}"
    else:
        where = f" to {environment}" if environment else ""
        title = f"Release {model} {candidate.release_version}{where}"
    return ReleasePlan(
        model=model,
        environment=environment,
        version=candidate.release_version,
        candidate=candidate.version,
        digest=candidate.digest,
        branch=branch_name(model, environment),
        title=title,
        body=pull_request_body(model, environment, candidate, rollback=rollback),
        commit_message=f"{title}\n\nImage: {candidate.reference}\nCandidate: {candidate.version}",
        changes=tuple(changes),
        notes=notes,
    )


def _pin(deploy: Target, strategy: str, candidate: Candidate) -> str:
    blue_green = strategy == "blue-green"
    pin = Pin(
        candidate.repository,
        candidate.reference,
        "blue-green" if blue_green else "rolling",
        modelpack=candidate.modelpack_reference,
    )
    return target(deploy.kind).pin(deploy.text, deploy.path, pin)
