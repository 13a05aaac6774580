"""The image builder: reproducible digests, shards, the small layer, the digest cache."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from mlops_ci.core.image_reference import parse_reference
from mlops_ci.files.artifacts import empty_folders, walk_artifacts
from mlops_ci.image.base import BaseImage
from mlops_ci.image.build import BuiltImage, build_image
from mlops_ci.image.digest_cache import DigestCache
from mlops_ci.image.layers import shards
from mlops_ci.image.oci import OCI_LAYER_GZIP, Descriptor

LAYER_SIZE = 1 << 30


def a_base() -> BaseImage:
    """A base as the registry would describe it (its layers are never read here)."""
    return BaseImage(
        reference=parse_reference("registry.example/library/busybox:1.36"),
        manifest_digest="sha256:" + "1" * 64,
        config={
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "2" * 64]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "base"}],
        },
        layers=(Descriptor(OCI_LAYER_GZIP, "sha256:" + "3" * 64, 1234),),
    )


def model_folder(folder: Path) -> Path:
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "part-0.bin").write_bytes(os.urandom(3000))
    (folder / "weights" / "part-1.bin").write_bytes(b"\0" * 5000)
    (folder / "model.json").write_text('{"coefficients": [1, 2]}\n')
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    return folder


def test_the_same_files_give_the_same_digest_anywhere(tmp_path: Path) -> None:
    first = model_folder(tmp_path / "one" / "model")
    second = tmp_path / "elsewhere" / "deeper" / "model"
    old_umask = os.umask(0o077)  # other permissions on the copy's files
    try:
        shutil.copytree(first, second)
    finally:
        os.umask(old_umask)
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))  # other mtimes
    (second / "weights" / "part-0.bin").chmod(0o600)
    images = [
        build_image("churn", "1.2.0-rc.1", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE)
        for folder in (first, second)
    ]
    assert images[0].digest == images[1].digest
    assert images[0].manifest == images[1].manifest
    assert [f.sha256 for f in images[0].files] == [
        hashlib.sha256((first / f.path).read_bytes()).hexdigest() for f in images[0].files
    ]
    other_epoch = build_image(
        "churn", "1.2.0-rc.1", walk_artifacts(first), a_base(), layer_size=LAYER_SIZE, epoch=1
    )
    assert other_epoch.digest != images[0].digest  # SOURCE_DATE_EPOCH does reach the bytes


def test_layers_config_and_the_small_layer(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    image = build_image("churn", "1.2.0", walk_artifacts(folder), a_base(), layer_size=4000)
    manifest = json.loads(image.manifest)
    config = json.loads(image.config)
    # busybox; two shards in path order (model.json, run.sh, part-0 | part-1); deploy.sh
    assert len(manifest["layers"]) == 1 + 2 + 1
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    assert len(config["history"]) == len(manifest["layers"])
    assert all(entry["created"] for entry in config["history"])
    assert config["config"]["Cmd"] == ["/bin/sh", "/deploy.sh", "/model"]
    assert config["config"]["Env"] == ["PATH=/bin"]  # the base's settings kept
    assert config["config"]["Labels"]["org.opencontainers.image.version"] == "1.2.0"
    assert manifest["layers"][0]["digest"] == "sha256:" + "3" * 64

    members = {}
    for layer in image.model_layers:
        data = b"".join(layer.tar(image.epoch).stream())
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.descriptor.digest
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                assert (member.uid, member.gid, member.mtime) == (0, 0, 0)
                members[member.name] = member.mode
    assert members["opt/mlops-ci/model/run.sh"] == 0o755
    assert members["opt/mlops-ci/model/weights/part-0.bin"] == 0o644
    assert members["opt/mlops-ci/model"] == 0o755

    deploy_tar = gzip.decompress(image.deploy_bytes)
    assert "sha256:" + hashlib.sha256(deploy_tar).hexdigest() == config["rootfs"]["diff_ids"][-1]
    with tarfile.open(fileobj=io.BytesIO(deploy_tar)) as archive:
        assert archive.getnames() == ["deploy.sh", "model.json", "model.sha256"]
        assert archive.getmember("deploy.sh").mode == 0o755
        described = json.loads(archive.extractfile("model.json").read())  # type: ignore[union-attr]
        sums = archive.extractfile("model.sha256").read().decode()  # type: ignore[union-attr]
    assert described["version"] == "1.2.0"
    assert {f["path"] for f in described["files"]} == {
        "model.json", "run.sh", "weights/part-0.bin", "weights/part-1.bin"
    }  # fmt: skip
    for file in described["files"]:
        assert f"{file['sha256']}  {file['path']}\n" in sums


def test_the_model_card_ships_in_the_small_layer(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    card = b"# Model card: churn 1.2.0\n"
    image = build_image(
        "churn", "1.2.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE, card=card
    )
    without = build_image("churn", "1.2.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE)
    assert image.digest != without.digest  # the card is part of what ships
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.deploy_bytes))) as archive:
        assert archive.getnames() == ["MODEL_CARD.md", "deploy.sh", "model.json", "model.sha256"]
        assert archive.extractfile("MODEL_CARD.md").read() == card  # type: ignore[union-attr]


def test_empty_folders_ship_in_the_small_layer(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    (folder / "assets").mkdir()
    (folder / "weights" / "empty").mkdir()
    image = build_image(
        "churn", "1.2.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE,
        folders=empty_folders(folder),
    )  # fmt: skip
    without = build_image("churn", "1.2.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE)
    assert image.digest != without.digest  # an empty folder is part of what ships
    assert [layer.descriptor for layer in image.model_layers] == [
        layer.descriptor for layer in without.model_layers
    ]  # the model layers (and their cached digests) are the same
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.deploy_bytes))) as archive:
        folders = {m.name: m.mode for m in archive.getmembers() if m.isdir()}
        described = json.loads(archive.extractfile("model.json").read())  # type: ignore[union-attr]
    assert folders["opt/mlops-ci/model/assets"] == 0o755
    assert "opt/mlops-ci/model/weights/empty" in folders
    assert described["empty_folders"] == ["assets", "weights/empty"]


def test_shards_keep_order_and_give_a_big_file_its_own_layer(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    for name, size in (("a", 40), ("b", 40), ("c", 40), ("d", 500), ("e", 10)):
        (folder / name).write_bytes(b"x" * size)
    groups = shards(walk_artifacts(folder), 100)
    assert [[f.path for f in group] for group in groups] == [["a", "b"], ["c"], ["d"], ["e"]]


def test_a_rebuild_takes_digests_from_the_cache_when_files_look_the_same(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    cache = DigestCache(tmp_path / "digests.json")
    first = build_image(
        "churn", "1.0.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE, cache=cache
    )
    # Nothing written since: the cache answers, nothing is read.
    reloaded = DigestCache(tmp_path / "digests.json")
    cached = build_image(
        "churn", "1.0.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE, cache=reloaded
    )
    assert cached.digest == first.digest
    # Same size, mtime and inode, other bytes: the write moved the ctime (git's index looks
    # at it too), so the file is read again.
    weights = folder / "weights" / "part-1.bin"
    info = weights.stat()
    with weights.open("r+b") as handle:
        handle.write(b"\1")
    os.utime(weights, ns=(info.st_atime_ns, info.st_mtime_ns))
    fresh = build_image(
        "churn", "1.0.0", walk_artifacts(folder), a_base(), layer_size=LAYER_SIZE, cache=reloaded
    )
    assert fresh.digest != first.digest


def test_a_layer_of_files_with_known_sums_is_read_for_its_digest_alone(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    files = walk_artifacts(folder)
    plain = build_image("churn", "1.0.0", files, a_base(), layer_size=LAYER_SIZE)
    sums = {f.path: f.sha256 for f in plain.files}
    known = build_image("churn", "1.0.0", files, a_base(), layer_size=LAYER_SIZE, known=sums)
    assert known.digest == plain.digest  # the same layers, config and model.sha256
    # The given sums are what ships (the caller vouches that the files did not change):
    # a wrong one is taken as given, and changes model.sha256, not the model layers.
    wrong = {**sums, "model.json": "0" * 64}
    taken = build_image("churn", "1.0.0", files, a_base(), layer_size=LAYER_SIZE, known=wrong)
    assert [layer.descriptor for layer in taken.model_layers] == [
        layer.descriptor for layer in plain.model_layers
    ]
    assert next(f.sha256 for f in taken.files if f.path == "model.json") == "0" * 64


def test_the_state_round_trips(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model")
    image = build_image("churn", "1.0.0", walk_artifacts(folder), a_base(), layer_size=4000)
    again = BuiltImage.from_json(json.loads(json.dumps(image.to_json())))
    assert again == image


def test_an_empty_folder_has_nothing_to_ship(tmp_path: Path) -> None:
    from mlops_ci.image.build import ImageBuildError

    with pytest.raises(ImageBuildError, match="empty"):
        build_image("churn", "1.0.0", [], a_base(), layer_size=LAYER_SIZE)
