"""The MLflow adapter against a real tracking server, where it differs from the embedded
store: what the server accepts as a registered model's source."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TrackingTarget
from tests.adapters.test_mlflow_sqlite import assert_the_model_files_are_the_source
from tests.conftest import MlflowServer, ProductionMlflow


def test_the_registered_model_holds_its_files_on_a_server(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    name = f"server-{tmp_path.name}"  # the server is the session's: names of its own
    tracker = MlflowTracker(
        TrackingTarget(mlflow_server.url, name, name, artifact_root=tmp_path / "unused")
    )
    assert_the_model_files_are_the_source(tracker, tmp_path)


def test_the_registered_model_holds_its_files_on_a_production_server(
    production_mlflow: ProductionMlflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL behind it, the files in the object store, a login in front."""
    for name, value in production_mlflow.environ.items():
        monkeypatch.setenv(name, value)  # mlflow's client reads the login from the environment
    name = f"production-{tmp_path.name}"
    tracker = MlflowTracker(
        TrackingTarget(production_mlflow.url, name, name, artifact_root=tmp_path / "unused")
    )
    assert_the_model_files_are_the_source(tracker, tmp_path)
    stored = production_mlflow.store.keys()
    assert any(key.endswith("/model/weights.bin") for key in stored), stored
