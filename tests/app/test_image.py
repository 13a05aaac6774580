"""Image builds on doubles, with a real (dead) registry address where it matters."""

from __future__ import annotations

import dataclasses

import pytest

from mlops_ci.adapters.registry import RegistryClient
from mlops_ci.adapters.registry_session import Retry
from mlops_ci.app.image import build_candidate_image
from mlops_ci.app.lifecycle import run_stages
from mlops_ci.errors import ServiceError
from tests.doubles.ports import World
from tests.services import free_port


def test_a_base_registry_out_of_reach_says_what_to_set(world: World) -> None:
    run_stages(world.context(), ["build"], None, keep_going=False)
    dead = RegistryClient(
        f"127.0.0.1:{free_port()}", retry=Retry(attempts=2, first_pause=0, sleep=lambda _: None)
    )
    tools = dataclasses.replace(world.image_tools(), registry=lambda reference: dead)
    with pytest.raises(ServiceError) as failed:
        build_candidate_image(world.context(), None, tools, epoch=0)
    message = str(failed.value)
    assert "did not answer" in message  # why, as the registry client said it
    assert f"release.image.base in {world.manifest.path}" in message
    assert "skopeo copy docker://SOURCE docker://MIRROR" in message
