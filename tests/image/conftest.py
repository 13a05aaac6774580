"""Fixtures for the image tests: a registry with and without a login, a Docker engine, a
busybox base image in the registry, and the example model built as a candidate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENVIRON, CliRunner, commit
from tests.services import DockerEngine


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    engine = DockerEngine(tmp_path_factory.mktemp("docker"))
    engine.start()
    yield engine
    engine.stop()


def use_image(repository: Path, image_repository: str, base: str, **extra: str) -> None:
    """Point the example's release.image at a test registry and base."""
    manifest = repository / "mlops.yaml"
    text = manifest.read_text()
    text = re.sub(r"repository: ghcr.io/acme/churn-model", f"repository: {image_repository}", text)
    text = re.sub(r"base: docker.io/library/busybox:1.36", f"base: {base}", text)
    for key, value in extra.items():
        text = text.replace("    backend: auto\n", f"    backend: auto\n    {key}: {value}\n")
    manifest.write_text(text)


@pytest.fixture
def built_candidate(example_copy: Path, cli: CliRunner) -> Path:
    """The example with a candidate built at HEAD (no tracking: the image tests need none)."""
    commit(example_copy, "feat: the churn model")
    done = cli("build", "-f", str(example_copy / "mlops.yaml"), "--no-tracking", environ=ENVIRON)
    assert done.status == 0, done.err + done.out
    return example_copy
