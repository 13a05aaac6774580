"""The deploy-target registry: every target the schema allows has a DeployTarget, and each
pins, scaffolds and names its file."""

from __future__ import annotations

import pytest

from mlops_ci.deploy.scaffold import Scaffold
from mlops_ci.deploy.targets import TARGETS, Pin, target
from mlops_ci.errors import UsageError
from mlops_ci.manifest.schema_file import manifest_schema

REPOSITORY = "ghcr.io/acme/churn-model"
REFERENCE = f"{REPOSITORY}:1.1.0@sha256:{'a' * 64}"


def test_the_registry_holds_every_target_the_schema_allows() -> None:
    forms = manifest_schema()["$defs"]["environment"]["properties"]["targets"]["items"]["oneOf"]
    assert {key for form in forms for key in form["required"]} == set(TARGETS)


@pytest.mark.parametrize("kind", sorted(TARGETS))
@pytest.mark.parametrize("strategy", ["rolling", "blue-green"])
def test_a_scaffolded_file_pins_the_model(kind: str, strategy: str) -> None:
    deploy = target(kind)
    files = Scaffold(app="mlapp", app_image="acme/app:1.0.0", model_image=f"{REPOSITORY}:1.0.0")
    text = deploy.scaffold(files, strategy, "init-container")  # type: ignore[arg-type]
    pin = Pin(REPOSITORY, REFERENCE, strategy)  # type: ignore[arg-type]
    pinned = deploy.pin(text, deploy.default_path("mlapp"), pin)
    assert REFERENCE in pinned
    if strategy == "rolling":  # blue/green pins the idle slot, which a second pin changes
        assert deploy.pin(pinned, deploy.default_path("mlapp"), pin) == pinned
    assert deploy.default_path("mlapp").endswith((".yaml", ".hcl"))


def test_an_unknown_target_says_which_there_are() -> None:
    with pytest.raises(UsageError, match="kubernetes, nomad"):
        target("helm")
