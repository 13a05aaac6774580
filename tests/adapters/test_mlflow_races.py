"""Jobs at the same time against one production-shaped tracking server (PostgreSQL, S3,
basic auth): 16 jobs of 16 models, and 2 jobs of one model at the same commit, each a
whole `mlops-ci run` in a checkout of its own, as CI runners are. Exactly one run per
(model, version, stage, commit) and one registered version per candidate, whoever wins."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TAG, TrackingTarget
from tests.conftest import ENVIRON, ProductionMlflow, git

MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: {name}, version: 1.0.0}}
build:
  command: python make.py {{artifacts}}
  artifacts: build/model
test:
  command: python score.py {{metrics}}
  metrics: [accuracy]
  gates: {{accuracy: {{min: 0.9}}}}
tracking:
  mlflow: {{experiment: {name}, registered_model: {name}}}
"""
MAKE = (
    "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/m.bin', 'w')\n"
)
SCORE = "import json, sys\njson.dump({'accuracy': 0.95}, open(sys.argv[1], 'w'))\n"


def model_checkout(folder: Path, name: str) -> Path:
    """A repository with one small model, committed."""
    folder.mkdir(parents=True)
    (folder / "mlops.yaml").write_text(MANIFEST.format(name=name))
    (folder / "make.py").write_text(MAKE)
    (folder / "score.py").write_text(SCORE)
    (folder / ".gitignore").write_text("build/\n.mlops-ci/\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "model")
    return folder


def run_at_once(
    checkouts: list[Path], environ: dict[str, str], *options: str
) -> list[subprocess.CompletedProcess[str]]:
    """`mlops-ci run` in each checkout, all started at once; each one's outcome."""
    mlops_ci = str(Path(sys.executable).with_name("mlops-ci"))
    started = [
        subprocess.Popen(
            [mlops_ci, "run", "-f", str(checkout / "mlops.yaml"), *options],
            cwd=checkout,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for checkout in checkouts
    ]
    done = []
    for process, checkout in zip(started, checkouts, strict=True):
        out, err = process.communicate(timeout=600)
        done.append(subprocess.CompletedProcess([str(checkout)], process.returncode, out, err))
    return done


def tracker_of(production: ProductionMlflow, name: str, folder: Path) -> MlflowTracker:
    return MlflowTracker(TrackingTarget(production.url, name, name, artifact_root=folder))


@pytest.mark.slow
def test_jobs_at_once_make_one_run_per_stage_and_one_version_per_candidate(
    production_mlflow: ProductionMlflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"race-{tmp_path.name[-12:].lower().replace('_', '-')}"
    models = [f"{prefix}-{number:02}" for number in range(16)]
    checkouts = [model_checkout(tmp_path / name, name) for name in models]
    # The 17th job: the first model again, at the same commit, in a checkout of its own.
    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(checkouts[0]), str(twin)], check=True)
    environ = {
        **ENVIRON,
        **production_mlflow.environ,
        "MLOPS_CI_FETCH": "false",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@localhost",
    }
    done = run_at_once([*checkouts, twin], environ)
    for job in done:
        assert job.returncode == 0, f"{job.args[0]}: {job.stderr[-3000:]}"
        assert production_mlflow.environ["MLFLOW_TRACKING_PASSWORD"] not in job.stdout + job.stderr

    for name, value in production_mlflow.environ.items():
        monkeypatch.setenv(name, value)
    for name in models:
        tracker = tracker_of(production_mlflow, name, tmp_path / "unused")
        runs = list(tracker.search(f"tags.`{TAG}model` = '{name}'", 100, "attributes.start_time"))
        identities = Counter(
            tuple(run.data.tags[f"{TAG}{key}"] for key in ("version", "stage", "git_sha"))
            for run in runs
        )
        assert identities, name
        assert max(identities.values()) == 1, (name, identities)
        assert {stage for _, stage, _ in identities} >= {"build", "test"}
        versions = tracker.client.search_model_versions(f"name = '{name}'")
        candidates = Counter(version.tags.get(f"{TAG}version") for version in versions)
        assert list(candidates.values()) == [1], (name, candidates)


def test_a_wrong_login_is_one_sentence_without_the_password(
    production_mlflow: ProductionMlflow, tmp_path: Path
) -> None:
    checkout = model_checkout(tmp_path / "model", "wrong-login")
    wrong = "not-the-password-but-long"
    environ = {
        **ENVIRON,
        **production_mlflow.environ,
        "MLFLOW_TRACKING_PASSWORD": wrong,
        "MLOPS_CI_FETCH": "false",
    }
    mlops_ci = str(Path(sys.executable).with_name("mlops-ci"))
    done = subprocess.run(
        [mlops_ci, "build", "-f", str(checkout / "mlops.yaml")],
        cwd=checkout, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    said = done.stderr.strip().splitlines()[-1]
    assert "refused the login (HTTP 401)" in said
    assert "MLFLOW_TRACKING_PASSWORD" in said
    assert "Traceback" not in done.stderr
    assert wrong not in done.stdout + done.stderr
