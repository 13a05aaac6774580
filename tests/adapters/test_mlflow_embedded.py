"""The embedded SQLite store under jobs at once: made by one process, whole, whatever starts
together; a store left half-made (by a crash, or an mlops-ci before the lock) made again;
anything else at its name left alone. And the jobs' candidates: one per (model, commit)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TAG, TrackingError, TrackingTarget
from mlops_ci.adapters.mlflow_embedded import ready_embedded_store
from tests.adapters.test_mlflow_races import model_checkout, run_at_once
from tests.conftest import ENVIRON, commit, git

EMBEDDED = "  mlflow: {{experiment: {name}, registered_model: {name}}}\n"
STORE = ".mlops-ci/mlflow.db"


def embedded_checkout(folder: Path, name: str) -> Path:
    checkout = model_checkout(folder, name)
    manifest = checkout / "mlops.yaml"
    text = manifest.read_text().replace(
        EMBEDDED.format(name=name),
        f"  mlflow: {{experiment: {name}, registered_model: {name}, "
        f"tracking_uri: 'sqlite:///{STORE}'}}\n",
    )
    assert "tracking_uri" in text
    manifest.write_text(text)
    commit(checkout, "the embedded store")
    return checkout


def environ() -> dict[str, str]:
    return {
        **ENVIRON,
        "MLOPS_CI_FETCH": "false",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@localhost",
    }


def tracker(checkout: Path, name: str) -> MlflowTracker:
    uri = f"sqlite:///{checkout / STORE}"
    return MlflowTracker(TrackingTarget(uri, name, name, checkout / ".mlops-ci" / "mlartifacts"))


def assert_one_run_per_stage_and_one_version_per_candidate(checkout: Path, name: str) -> None:
    found = tracker(checkout, name)
    runs = list(found.search(f"tags.`{TAG}model` = '{name}'", 100, "attributes.start_time"))
    identities = Counter(
        tuple(run.data.tags[f"{TAG}{key}"] for key in ("version", "stage", "git_sha"))
        for run in runs
    )
    assert identities
    assert max(identities.values()) == 1, identities
    versions = found.client.search_model_versions(f"name = '{name}'")
    candidates = Counter(version.tags.get(f"{TAG}version") for version in versions)
    assert candidates
    assert max(candidates.values()) == 1, candidates
    heads = Counter(sha for _, _, sha in identities)
    by_commit = {sha: {v for v, _, s in identities if s == sha} for sha in heads}
    assert all(len(numbers) == 1 for numbers in by_commit.values()), by_commit


@pytest.mark.slow
def test_first_runs_at_once_in_a_fresh_repository_make_one_store_and_one_candidate(
    tmp_path: Path,
) -> None:
    """Two `mlops-ci run`s (and the two syncs they start) open a store nobody made yet; then,
    at a new commit, two more at once take one candidate number between them."""
    checkout = embedded_checkout(tmp_path / "model", "twins")
    done = run_at_once([checkout, checkout], environ())
    for job in done:
        assert job.returncode == 0, job.stderr[-3000:]
    assert_one_run_per_stage_and_one_version_per_candidate(checkout, "twins")

    commit(checkout, "a change", touch="notes.txt")
    head = git(checkout, "rev-parse", "HEAD").strip()
    done = run_at_once([checkout, checkout], environ())
    for job in done:
        assert job.returncode == 0, job.stderr[-3000:]
    tags = git(checkout, "tag", "--points-at", head).split()
    assert len(tags) == 1, tags
    assert_one_run_per_stage_and_one_version_per_candidate(checkout, "twins")
    numbers = git(checkout, "tag", "--list").split()
    assert len(numbers) == 2, numbers  # one a commit: none taken and left an orphan


def _half_made(path: Path) -> None:
    """What two first opens at once used to leave: MLflow's first tables, an alembic stamp
    part-way, no run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version VALUES ('a8c4a736bde6')")
        db.commit()


def test_a_half_made_store_is_made_again(tmp_path: Path) -> None:
    store = tmp_path / ".mlops-ci" / "mlflow.db"
    _half_made(store)
    found = tracker(tmp_path, "again")
    assert found.experiment_id()
    assert not list(store.parent.glob(".mlflow.db.*"))  # nothing left beside it


def test_a_file_that_is_not_an_mlflow_store_is_left_alone(tmp_path: Path) -> None:
    store = tmp_path / ".mlops-ci" / "mlflow.db"
    store.parent.mkdir()
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute("CREATE TABLE mine (x INTEGER)")
        db.execute("INSERT INTO mine VALUES (42)")
        db.commit()
    with pytest.raises(TrackingError) as raised:
        tracker(tmp_path, "mine").experiment_id()
    assert f"{store} is not an MLflow store" in str(raised.value)
    with contextlib.closing(sqlite3.connect(store)) as db:
        assert db.execute("SELECT x FROM mine").fetchall() == [(42,)]


def test_a_ready_store_is_left_as_it_is(tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    ready_embedded_store(store)
    made = store.stat().st_ino
    ready_embedded_store(store)
    assert store.stat().st_ino == made
