"""A model repository whose outside world is the in-memory doubles: fast tests of the use
cases, without git, MLflow, a registry or GitHub."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from mlops_ci.manifest.loader import load_manifest
from tests.doubles.ports import World
from tests.doubles.vcs import MemoryVcs

MANIFEST = """\
apiVersion: mlops-ci/v1
model:
  name: churn
  version: 1.0.0
build:
  command: train --out {artifacts}
  artifacts: build/model
  metrics: build/metrics.json
test:
  command: evaluate --model {artifacts} --out {metrics}
  gates:
    accuracy: {min: 0.80}
  against_production:
    accuracy: {max_drop: 0.01}
validate:
  size: {max: 1MiB}
  latency:
    command: bench --model {artifacts}
    p95_ms: {max: 25}
release:
  image:
    repository: registry.example/acme/churn-model
  environments:
    - name: production
      strategy: rolling
      targets: [{kubernetes: deploy/app.yaml}]
  pull_request: {base: main, labels: [release], reviewers: [octocat]}
monitor:
  source: {prometheus: http://app.example/metrics}
  slo:
    latency_p95_ms: {max: 30}
"""

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      initContainers:
        - name: model
          image: registry.example/acme/churn-model:1.0.0
          command: ["/bin/sh", "/deploy.sh", "/model"]
      containers:
        - name: app
          image: registry.example/acme/app:2.0.0
"""


def model_commands(world: World, accuracy: float = 0.9, p95_ms: float = 12.0) -> None:
    """The model's commands as scripts: train writes one file, evaluate the metrics."""
    root = world.manifest.root

    def train(values: Mapping[str, str]) -> tuple[int, str]:
        folder = root / values["artifacts"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.bin").write_bytes(b"weights " + str(accuracy).encode())
        return 0, "trained\n"

    def evaluate(values: Mapping[str, str]) -> tuple[int, str]:
        (root / values["metrics"]).write_text(json.dumps({"accuracy": accuracy}))
        return 0, "evaluated\n"

    def bench(values: Mapping[str, str]) -> tuple[int, str]:
        return 0, json.dumps({"p50_ms": p95_ms / 2, "p95_ms": p95_ms}) + "\n"

    world.runner.scripts.update(
        {
            "build.command": train,
            "test.command": evaluate,
            "validate.latency.command": bench,
        }
    )


@pytest.fixture
def world(tmp_path: Path) -> World:
    (tmp_path / ".git").mkdir()  # where load_manifest finds the repository's root
    (tmp_path / "mlops.yaml").write_text(MANIFEST)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(DEPLOY)
    vcs = MemoryVcs(tmp_path)
    vcs.commit(
        "chore: the churn model",
        {"mlops.yaml": MANIFEST.encode(), "deploy/app.yaml": DEPLOY.encode()},
    )
    vcs.push_head("main")
    made = World(manifest=load_manifest(tmp_path / "mlops.yaml"), vcs=vcs)
    model_commands(made)
    return made
