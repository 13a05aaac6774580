"""Users validate manifests from their own pre-commit config with our hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, PROJECT, git

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


@pytest.mark.parametrize(
    ("command", "file"),
    [
        ("validate-manifest", ".pre-commit-hooks.yaml"),
        ("validate-config", ".pre-commit-config.yaml"),
    ],
)
def test_hook_files_pass_pre_commits_own_checks(command: str, file: str) -> None:
    result = subprocess.run(
        [*PRE_COMMIT, command, file], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_hook_runs_from_a_users_repository(repository: Path, tmp_path: Path) -> None:
    """pre-commit try-repo installs this project in its own environment and runs the hook."""
    source = tmp_path / "mlops-ci"
    shutil.copytree(
        PROJECT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "__pycache__",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            ".hypothesis",
            "build",
            "*.egg-info",
            ".mlops-ci",
        ),
    )
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "src")
    shutil.copy(EXAMPLE / "mlops.yaml", repository / "mlops.yaml")
    models = repository / "models" / "bad"
    models.mkdir(parents=True)
    (models / "mlops.yaml").write_text(
        "apiVersion: mlops-ci/v1\nmodel: {name: Bad, version: 1.0.0}\n"
    )
    git(repository, "add", "-A")
    environment = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    result = subprocess.run(
        [*PRE_COMMIT, "try-repo", str(source), "mlops-ci-manifest", "--all-files"],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "models/bad/mlops.yaml:2:15: model.name is 'Bad', but a model name" in result.stdout
    assert "mlops.yaml: valid (churn-classifier 1.43.13)" in result.stdout
    assert "1 problem in 1 of 2 manifests" in result.stdout
