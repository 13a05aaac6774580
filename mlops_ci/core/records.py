"""What each stage leaves behind: a record, the durable local truth about a candidate.

Records live in git (``refs/mlops-ci/records``), so every clone and CI job has them; when
MLflow is down nothing is lost, because ``mlops-ci sync`` replays the records it lacks.
schemas/record.schema.json describes the JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from mlops_ci.core.lifecycle import STATES, State

RECORD_SCHEMA = "mlops-ci/record/v1"
Verdict = Literal["passed", "failed", "skipped"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "skipped")
PUBLISHED = "publish"  # the stage of the record a publish writes (of the released version)
IMAGE_STAGE = "image"  # the stage of the record an image push writes (with its digest)
EXPIRED = "expire"  # the stage of the record retention writes (of an expired candidate)


@dataclass(frozen=True)
class StageRecord:
    model: str
    version: str
    stage: str
    verdict: Verdict
    state: State
    started_at: datetime
    finished_at: datetime
    git_sha: str | None = None
    manifest_sha256: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    image_digest: str | None = None
    mlflow_run_id: str | None = None
    synced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": RECORD_SCHEMA,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "verdict": self.verdict,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "git_sha": self.git_sha,
            "manifest_sha256": self.manifest_sha256,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "details": dict(self.details),
            "image_digest": self.image_digest,
            "mlflow": {"run_id": self.mlflow_run_id, "synced": self.synced},
        }

    def synced_as(self, run_id: str) -> StageRecord:
        return replace(self, mlflow_run_id=run_id, synced=True)


class RecordFormatError(ValueError):
    """A record file that is not a record this version of mlops-ci can read."""


def record_from_json(data: Any) -> StageRecord:
    """The record in ``data`` (untrusted: fetched from a remote that any job with push
    access writes); raises RecordFormatError."""
    if not isinstance(data, dict) or data.get("schema") != RECORD_SCHEMA:
        raise RecordFormatError(f"not a {RECORD_SCHEMA} record")
    try:
        verdict, state = data["verdict"], data["state"]
        if verdict not in VERDICTS or state not in STATES:
            raise RecordFormatError(f"unknown verdict {verdict!r} or state {state!r}")
        mlflow = data.get("mlflow") or {}
        metrics = {str(k): float(v) for k, v in (data.get("metrics") or {}).items()}
        return StageRecord(
            model=str(data["model"]),
            version=str(data["version"]),
            stage=str(data["stage"]),
            verdict=verdict,
            state=state,
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            git_sha=data.get("git_sha"),
            manifest_sha256=data.get("manifest_sha256"),
            params={str(k): str(v) for k, v in (data.get("params") or {}).items()},
            metrics=metrics,
            details=dict(data.get("details") or {}),
            image_digest=data.get("image_digest"),
            mlflow_run_id=mlflow.get("run_id"),
            synced=bool(mlflow.get("synced", False)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RecordFormatError(f"a field is missing or malformed ({error})") from None
