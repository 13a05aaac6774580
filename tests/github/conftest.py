"""A fake GitHub over a real bare repository, with a clone to work in."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import commit, git
from tests.github.fake import FakeGitHub


@pytest.fixture
def github(repository: Path, tmp_path: Path) -> Iterator[FakeGitHub]:
    """The fake, serving acme/models; ``repository`` has it as origin, main pushed."""
    (repository / "README.md").write_text("models\n")
    commit(repository, "initial")
    bare = tmp_path / "models.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(bare)], check=True)
    git(repository, "remote", "add", "origin", str(bare))
    git(repository, "fetch", "-q", "origin")
    fake = FakeGitHub(bare)
    yield fake
    fake.stop()
    assert fake.schema_errors == []
