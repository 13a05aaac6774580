"""Image builds on doubles, with a real (dead) registry address where it matters."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tarfile

import pytest

from mlops_ci.adapters.registry import RegistryClient
from mlops_ci.adapters.registry_session import Retry
from mlops_ci.app.image import build_candidate_image
from mlops_ci.app.lifecycle import run_stages
from mlops_ci.app.promote import inspect_remote
from mlops_ci.errors import ServiceError
from mlops_ci.image.oci import sha256_digest
from tests.doubles.ports import World
from tests.services import free_port

MEDIA = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


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


def _image(world: World, model_json: bytes, diff_id: str | None) -> str:
    """An image of one gzipped layer holding model.json in the world's registry; its
    config names ``diff_id`` (None: the layer's own uncompressed digest)."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("model.json")
        info.size = len(model_json)
        tar.addfile(info, io.BytesIO(model_json))
    unpacked = archive.getvalue()
    layer = gzip.compress(unpacked, mtime=0)
    config = json.dumps(
        {"rootfs": {"type": "layers", "diff_ids": [diff_id or sha256_digest(unpacked)]}}
    ).encode()
    for blob in (layer, config):
        world.registry.blobs[sha256_digest(blob)] = blob
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA,
        "config": {"mediaType": CONFIG, "digest": sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER, "digest": sha256_digest(layer), "size": len(layer)}],
    }
    world.registry.add_image("acme/m", "1.0.0", json.dumps(manifest).encode(), MEDIA)
    return "registry.example/acme/m:1.0.0"


def test_inspect_shows_the_model_of_a_layer_its_config_vouches_for(world: World) -> None:
    reference = _image(world, b'{"version": "1.0.0"}', None)
    assert inspect_remote(reference, world.image_tools())["model"] == {"version": "1.0.0"}


def test_inspect_refuses_a_layer_its_config_does_not_name(world: World) -> None:
    reference = _image(world, b'{"version": "6.6.6"}', "sha256:" + "0" * 64)
    with pytest.raises(ServiceError, match=r"rootfs.diff_ids\): the layer was changed"):
        inspect_remote(reference, world.image_tools())
