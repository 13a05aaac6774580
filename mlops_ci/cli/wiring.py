"""The adapters a command needs, built from its manifest and environment."""

from __future__ import annotations

from collections.abc import Mapping

from mlops_ci.adapters.git import Git
from mlops_ci.adapters.mlflow import MlflowTracker, TrackingTarget, resolve_tracking_uri
from mlops_ci.adapters.records import RecordStore
from mlops_ci.manifest.model import Manifest

STATE_FOLDER = ".mlops-ci"


def record_store(manifest: Manifest) -> RecordStore:
    return RecordStore(manifest.repository / STATE_FOLDER / "records")


def git(manifest: Manifest) -> Git:
    return Git(manifest.repository)


def tracking_target(manifest: Manifest, environ: Mapping[str, str]) -> TrackingTarget:
    return TrackingTarget(
        uri=resolve_tracking_uri(manifest.tracking.tracking_uri, manifest.repository, environ),
        experiment=manifest.tracking.experiment,
        registered_model=manifest.tracking.registered_model,
        artifact_root=manifest.repository / STATE_FOLDER / "mlartifacts",
    )


def tracker(manifest: Manifest, environ: Mapping[str, str]) -> MlflowTracker:
    target = tracking_target(manifest, environ)
    if target.uri.startswith("sqlite:///"):
        # The embedded store's folder; SQLite makes the file but not its folder.
        (manifest.repository / STATE_FOLDER).mkdir(parents=True, exist_ok=True)
    return MlflowTracker(target)
