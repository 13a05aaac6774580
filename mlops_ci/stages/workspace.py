"""What every stage works with: the manifest, the record store, git, MLflow, the clock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops_ci.adapters.git import Git
from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.records import RecordStore
from mlops_ci.core.gates import GateResult, Verdict
from mlops_ci.core.lifecycle import State
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.files.artifacts import walk_artifacts
from mlops_ci.manifest.model import Manifest

STATE_FOLDER = ".mlops-ci"


class StageInputError(MlopsCiError):
    """A stage cannot run: not configured, nothing built yet, unreadable input."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class StageResult:
    stage: str
    version: str
    verdict: Verdict
    state: State
    gates: tuple[GateResult, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    log: Path | None = None


@dataclass
class Workspace:
    manifest: Manifest
    environ: Mapping[str, str]
    store: RecordStore
    git: Git
    tracker: Callable[[], MlflowTracker | None]
    now: Callable[[], datetime]

    def log_path(self, version: str, stage: str) -> Path:
        self.store.path(self.manifest.model.name, version, stage)  # checks the names
        return (
            self.manifest.repository
            / STATE_FOLDER
            / "logs"
            / self.manifest.model.name
            / version
            / f"{stage}.log"
        )

    def placeholders(self, version: str) -> dict[str, str]:
        build = self.manifest.build
        return {
            "artifacts": str(build.artifacts) if build else "",
            "metrics": str(build.metrics) if build else "",
            "version": version,
            "name": self.manifest.model.name,
        }

    def command_environment(self, version: str, stage: str) -> dict[str, str]:
        values = self.placeholders(version)
        return {
            **self.environ,
            "MLOPS_CI_MODEL": self.manifest.model.name,
            "MLOPS_CI_VERSION": version,
            "MLOPS_CI_STAGE": stage,
            "MLOPS_CI_ARTIFACTS": values["artifacts"],
            "MLOPS_CI_METRICS": values["metrics"],
        }

    def records(self) -> list[StageRecord]:
        return list(self.store.records(self.manifest.model.name))

    def save(self, record: StageRecord) -> None:
        """Write the record (the durable truth) first, then tell MLflow and mark it synced;
        a tracking failure after the write leaves the record for `mlops-ci sync`."""
        self.store.write(record)
        tracker = self.tracker()
        if tracker is None:
            return
        run_id = tracker.log_stage(record)
        self.store.update(
            record.model, record.version, record.stage, lambda stored: stored.synced_as(run_id)
        )

    def mark_state(self, version: str, state: str) -> None:
        """The candidate's state as a tag on its registered model version; a validated
        one also gets the ``validated`` alias (the newest validated candidate)."""
        tracker = self.tracker()
        if tracker is None:
            return
        registered = tracker.tag_version(version, {"mlops-ci.state": state}, missing_ok=True)
        if registered and state == "validated":
            tracker.move_alias("validated", version, self.now())


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    size: int
    sha256: str


def artifact_files(folder: Path) -> list[ArtifactFile]:
    """Every file under ``folder``, hashed; links that leave it and special files refused."""
    found = []
    for file in walk_artifacts(folder):
        with file.source.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        found.append(ArtifactFile(file.path, file.size, digest))
    return found
