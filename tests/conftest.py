"""Shared fixtures: the example repository, real git work trees, and the CLI in-process."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_ci.cli.main import main

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "churn"
MINIMAL = "apiVersion: mlops-ci/v1\nmodel:\n  name: churn\n  version: 1.0.0\n"


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


CliRunner = Callable[..., Run]


@pytest.fixture
def cli() -> CliRunner:
    """Run ``mlops-ci`` in-process with its own environment; capture both streams."""

    def run(*argv: str, environ: Mapping[str, str] | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        status = main(list(argv), environ=dict(environ or {}), stdout=out, stderr=err)
        return Run(status, out.getvalue(), err.getvalue())

    return run


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *arguments], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A fresh git work tree."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    return folder


@pytest.fixture
def example_copy(repository: Path) -> Path:
    """examples/churn copied into a git work tree of its own, as a user would have it."""
    shutil.copytree(
        EXAMPLE,
        repository,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__"),
    )
    return repository
