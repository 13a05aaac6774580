"""The ModelPack artifact the push writes beside the image, in a registry of its own so that
its storage can be weighed: its weight layers are the image's model layers (no blob is
stored twice), they unpack to the model files, and the manifest and config say what the
model-spec says they must (checked here from the spec's text, with plain HTTP and tarfile
rather than with our reader)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.files.artifacts import walk_artifacts
from mlops_ci.image.build import build_image
from mlops_ci.image.modelpack import ModelFacts, modelpack_of
from tests.conftest import ENVIRON, CliRunner, commit
from tests.image.conftest import use_image
from tests.services import RegistryServer, busybox_layout, skopeo

ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
CONFIG = "application/vnd.cncf.model.config.v1+json"
# The layer media types the model-spec defines (docs/spec.md, "layers").
LAYER_TYPE = re.compile(
    r"^application/vnd\.cncf\.model\.(weight|weight\.config|doc|code|dataset)\.v1"
    r"(\.raw|\.tar(\+gzip|\+zstd)?)$"
)
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
DESCRIPTOR_KEYS = {
    "createdAt", "authors", "vendor", "family", "name", "version", "title", "description",
    "docURL", "sourceURL", "revision", "licenses",
}  # fmt: skip
CONFIG_KEYS = {"architecture", "format", "paramSize", "precision", "quantization", "capabilities"}


def spec_problems(manifest: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """What the model-spec's manifest and config sections require, as written there."""
    problems = []
    if manifest.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
        problems.append("mediaType")
    if manifest.get("artifactType") != ARTIFACT:
        problems.append("artifactType")
    if manifest.get("config", {}).get("mediaType") != CONFIG:
        problems.append("config.mediaType")
    for layer in manifest.get("layers", []):
        if not LAYER_TYPE.match(layer.get("mediaType", "")):
            problems.append(f"layer mediaType {layer.get('mediaType')}")
        if not DIGEST.match(layer.get("digest", "")) or not isinstance(layer.get("size"), int):
            problems.append("layer descriptor")
    if set(config) != {"descriptor", "config", "modelfs"}:
        problems.append(f"config properties {sorted(config)}")
    descriptor = config.get("descriptor", {})
    if set(descriptor) - DESCRIPTOR_KEYS or not descriptor.get("name"):
        problems.append("descriptor")
    if "createdAt" in descriptor:
        datetime.fromisoformat(descriptor["createdAt"].replace("Z", "+00:00"))  # RFC 3339
    if set(config.get("config", {})) - CONFIG_KEYS:
        problems.append("config.config")
    modelfs = config.get("modelfs", {})
    if modelfs.get("type") != "layers" or not modelfs.get("diffIds"):
        problems.append("modelfs")
    if not all(DIGEST.match(d) for d in modelfs.get("diffIds", [])):
        problems.append("modelfs.diffIds")
    return problems


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[tuple[RegistryServer, str]]:
    """A registry no other test writes to (its storage is weighed), with a busybox base."""
    server = RegistryServer(tmp_path / "registry")
    server.start()
    base = f"{server.host}/library/busybox:test"
    copied = skopeo(
        "copy", "--dest-tls-verify=false", "--preserve-digests",
        f"oci:{busybox_layout(tmp_path / 'busybox')}:test", f"docker://{base}",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    yield server, base
    server.stop()


def _blob_bytes(server: RegistryServer) -> dict[str, int]:
    """Every blob the registry stores, by digest: its size on disk."""
    found = {}
    for data in (server.folder / "data").rglob("data"):
        if data.parent.parent.parent.name == "sha256":
            found["sha256:" + data.parent.name] = data.stat().st_size
    return found


def _get(server: RegistryServer, repository: str, what: str, accept: str = "") -> bytes:
    request = urllib.request.Request(
        f"http://{server.host}/v2/{repository}/{what}",
        headers={"Accept": accept} if accept else {},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return bytes(answer.read())


@pytest.mark.slow
def test_the_push_writes_a_modelpack_of_the_same_blobs(
    example_copy: Path, own_registry: tuple[RegistryServer, str], cli: CliRunner, tmp_path: Path
) -> None:
    server, base = own_registry
    repository = "acme/packed-model"
    mlops = example_copy / "mlops.yaml"
    use_image(example_copy, f"{server.host}/{repository}", base, modelpack="false")
    commit(example_copy, "feat: the churn model")
    manifest = str(mlops)
    built = cli("build", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert built.status == 0, built.err + built.out
    assert cli("image", "build", "-f", manifest).status == 0

    plain = cli("image", "push", "-f", manifest, "--json")
    assert plain.status == 0, plain.err
    assert json.loads(plain.out)["modelpack"] is None
    image_only = _blob_bytes(server)

    mlops.write_text(mlops.read_text().replace("modelpack: false", "modelpack: true"))
    packed = cli("image", "push", "-f", manifest, "--json")
    assert packed.status == 0, packed.err
    pushed = json.loads(packed.out)
    assert pushed["digest"] == json.loads(plain.out)["digest"]
    name, _, digest = pushed["modelpack"].rpartition("@")
    tag = name.rpartition(":")[2]
    assert tag.endswith(".modelpack")

    body = _get(
        server, repository, f"manifests/{tag}", "application/vnd.oci.image.manifest.v1+json"
    )
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    artifact = json.loads(body)
    config_bytes = _get(server, repository, f"blobs/{artifact['config']['digest']}")
    config = json.loads(config_bytes)
    assert spec_problems(artifact, config) == []
    assert artifact["subject"]["digest"] == pushed["digest"]
    assert config["descriptor"]["name"] == "churn-classifier"
    assert re.fullmatch(r"[0-9a-f]{40}", config["descriptor"]["revision"])

    # No blob twice: what the artifact added is its config, its manifest and the referrers
    # index (the registry has no referrers API), a few KiB, and not one layer.
    image = json.loads(
        _get(server, repository, f"manifests/{pushed['digest']}",
             "application/vnd.oci.image.manifest.v1+json")
    )  # fmt: skip
    image_layers = {layer["digest"] for layer in image["layers"]}
    weights = [layer["digest"] for layer in artifact["layers"]]
    assert weights
    assert set(weights) <= image_layers
    added = {d: size for d, size in _blob_bytes(server).items() if d not in image_only}
    index = _get(server, repository, f"manifests/sha256-{pushed['digest'][7:]}",
                 "application/vnd.oci.image.index.v1+json")  # fmt: skip
    expected = {
        digest: len(body),
        artifact["config"]["digest"]: len(config_bytes),
        "sha256:" + hashlib.sha256(index).hexdigest(): len(index),
    }
    assert added == expected
    assert sum(added.values()) < 8192
    assert [e["artifactType"] for e in json.loads(index)["manifests"]] == [ARTIFACT]

    # The weight layers are the model files: uncompressed tars whose digest is the diff id.
    reference = f"{server.host}/{repository}@{pushed['digest']}"
    shipped = json.loads(cli("image", "inspect", reference, "-f", manifest, "--json").out)
    by_path = {f["path"]: f["sha256"] for f in shipped["model"]["files"]}
    unpacked = {}
    for layer, diff_id in zip(artifact["layers"], config["modelfs"]["diffIds"], strict=True):
        blob = _get(server, repository, f"blobs/{layer['digest']}")
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == diff_id == layer["digest"]
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    data = archive.extractfile(member)
                    assert data is not None
                    path = member.name.removeprefix("opt/mlops-ci/model/")
                    unpacked[path] = hashlib.sha256(data.read()).hexdigest()
    assert unpacked == by_path

    # Another client copies the artifact as it is (skopeo reads any OCI manifest).
    copied = skopeo(
        "copy", "--src-tls-verify=false", "--preserve-digests",
        f"docker://{server.host}/{repository}:{tag}", f"oci:{tmp_path / 'copy'}:model",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "copy" / "blobs" / "sha256" / digest[7:]).read_bytes() == body

    # A second push adds nothing: the same artifact, listed once.
    again = json.loads(cli("image", "push", "-f", manifest, "--json").out)
    assert again["modelpack"] == pushed["modelpack"]
    after = _get(server, repository, f"manifests/sha256-{pushed['digest'][7:]}",
                 "application/vnd.oci.image.index.v1+json")  # fmt: skip
    assert after == index


def test_the_artifact_is_the_same_bytes_for_the_same_image(tmp_path: Path) -> None:
    from tests.image.test_build import a_base  # the build tests' base

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"\x01" * 4096)
    (tmp_path / "model" / "config.json").write_text("{}")
    files = walk_artifacts(tmp_path / "model")
    image = build_image("m", "1.0.0", files, a_base(), layer_size=2048)
    facts = ModelFacts(description="a model", revision="a" * 40)
    first, second = modelpack_of(image, facts), modelpack_of(image, facts)
    assert first == second
    artifact = json.loads(first.manifest)
    config = json.loads(first.config)
    assert spec_problems(artifact, config) == []
    # One file per layer here, so each names its file, as the spec asks.
    assert [layer["annotations"]["org.cncf.model.filepath"] for layer in artifact["layers"]] == [
        "opt/mlops-ci/model/config.json",
        "opt/mlops-ci/model/weights.bin",
    ]
    assert [layer["digest"] for layer in artifact["layers"]] == [
        layer.descriptor.digest for layer in image.model_layers
    ]
    assert config["descriptor"]["description"] == "a model"
    assert "sourceURL" not in config["descriptor"]  # nothing said when nothing is known
    assert modelpack_of(image, ModelFacts()).digest != first.digest
