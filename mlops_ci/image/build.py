"""A model image: the base, one uncompressed layer of model files per shard, and a small
gzipped layer with ``/deploy.sh``, ``/model.json`` and ``/model.sha256``.

The build reads every file once, for its sha256 and its layer's; nothing is copied. What it
computed is kept as a small JSON state (``BuiltImage``), from which a push, an OCI layout
or a ``docker load`` tar stream the layers from the files again. A rebuild whose files have
the same size, mtime and inode as last time takes their digests from a cache instead of
reading gigabytes once more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.files.artifacts import ArtifactPath
from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.base import BaseImage
from mlops_ci.image.deploy_script import MODEL_FOLDER, ShippedFile, deploy_files
from mlops_ci.image.oci import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    Descriptor,
    canonical_json,
    image_config,
    image_manifest,
    rfc3339,
    sha256_digest,
    stored_gzip,
)
from mlops_ci.image.tarstream import (
    LayerHashes,
    Member,
    TarLayer,
    data_member,
    members_with_folders,
)

DEFAULT_EPOCH = 0
_CACHE_ENTRIES = 256


class ImageBuildError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class ModelLayer:
    """One shard of model files: where each goes in the image and where it is read from."""

    descriptor: Descriptor
    files: tuple[ArtifactPath, ...]

    def members(self) -> list[Member]:
        return members_with_folders(
            [
                Member(f"{MODEL_FOLDER}/{f.path}", f.size, f.executable, source=f.source)
                for f in self.files
            ]
        )

    def tar(self, epoch: int) -> TarLayer:
        return TarLayer(self.members(), epoch)


@dataclass(frozen=True)
class BuiltImage:
    name: str
    version: str
    epoch: int
    base: BaseImage
    model_layers: tuple[ModelLayer, ...]
    deploy_layer: Descriptor
    deploy_bytes: bytes
    config: bytes
    manifest: bytes
    files: tuple[ShippedFile, ...]

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor(OCI_CONFIG, sha256_digest(self.config), len(self.config))

    @property
    def size(self) -> int:
        layers = [*self.base.layers, *(m.descriptor for m in self.model_layers), self.deploy_layer]
        return sum(layer.size for layer in layers) + len(self.config) + len(self.manifest)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "mlops-ci/image/v1",
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "epoch": self.epoch,
            "base": self.base.to_json(),
            "model_layers": [
                {
                    "descriptor": layer.descriptor.to_json(),
                    "files": [_file_json(f) for f in layer.files],
                }
                for layer in self.model_layers
            ],
            "deploy_layer": self.deploy_layer.to_json(),
            "deploy_bytes": self.deploy_bytes.hex(),
            "config": self.config.decode(),
            "manifest": self.manifest.decode(),
            "files": [f.to_json() for f in self.files],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> BuiltImage:
        return cls(
            name=str(value["name"]),
            version=str(value["version"]),
            epoch=int(value["epoch"]),
            base=BaseImage.from_json(value["base"]),
            model_layers=tuple(
                ModelLayer(
                    Descriptor.from_json(layer["descriptor"]),
                    tuple(_file_from_json(f) for f in layer["files"]),
                )
                for layer in value["model_layers"]
            ),
            deploy_layer=Descriptor.from_json(value["deploy_layer"]),
            deploy_bytes=bytes.fromhex(value["deploy_bytes"]),
            config=str(value["config"]).encode(),
            manifest=str(value["manifest"]).encode(),
            files=tuple(ShippedFile.from_json(f) for f in value["files"]),
        )


def shards(files: Sequence[ArtifactPath], layer_size: int) -> list[list[ArtifactPath]]:
    """The files in order, grouped into layers of at most ``layer_size`` bytes (a bigger
    file gets a layer of its own)."""
    groups: list[list[ArtifactPath]] = []
    size = 0
    for file in files:
        if not groups or (size + file.size > layer_size and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(file)
        size += file.size
    return groups


def build_image(
    name: str,
    version: str,
    files: Sequence[ArtifactPath],
    base: BaseImage,
    *,
    layer_size: int,
    epoch: int = DEFAULT_EPOCH,
    cache: DigestCache | None = None,
) -> BuiltImage:
    if not files:
        raise ImageBuildError("the artifacts folder is empty: there is no model to ship")
    created = rfc3339(epoch)
    model_layers: list[ModelLayer] = []
    shipped: dict[str, ShippedFile] = {}
    groups = shards(files, layer_size)
    for group in groups:
        layer = ModelLayer(Descriptor(OCI_LAYER, "", 0), tuple(group))
        hashes = cache.get(layer, epoch) if cache else None
        if hashes is None:
            hashes = layer.tar(epoch).hash()
            if cache:
                cache.put(layer, epoch, hashes)
        model_layers.append(
            ModelLayer(Descriptor(OCI_LAYER, hashes.digest, hashes.size), layer.files)
        )
        for file in group:
            name_in_image = f"{MODEL_FOLDER}/{file.path}"
            shipped[file.path] = ShippedFile(file.path, file.size, hashes.files[name_in_image])
    ordered = tuple(shipped[f.path] for f in files)
    deploy_tar = b"".join(
        TarLayer(
            members_with_folders(
                [
                    data_member(file_name, data, executable=executable)
                    for file_name, data, executable in deploy_files(name, version, ordered)
                ]
            ),
            epoch,
        ).stream()
    )
    deploy_gzip = stored_gzip(deploy_tar)
    deploy_layer = Descriptor(OCI_LAYER_GZIP, sha256_digest(deploy_gzip), len(deploy_gzip))
    total = len(model_layers)
    history = [
        {
            "created": created,
            "created_by": f"mlops-ci image build: model files, layer {i} of {total}",
            "comment": f"{len(layer.files)} files under /{MODEL_FOLDER}",
        }
        for i, layer in enumerate(model_layers, start=1)
    ]
    history.append(
        {"created": created, "created_by": "mlops-ci image build: /deploy.sh, /model.json"}
    )
    config = image_config(
        base.config,
        [*(layer.descriptor.digest for layer in model_layers), sha256_digest(deploy_tar)],
        history,
        created,
        {
            "org.opencontainers.image.title": name,
            "org.opencontainers.image.version": version,
            "org.opencontainers.image.base.name": str(base.reference),
            "org.opencontainers.image.base.digest": base.manifest_digest,
        },
    )
    config["config"]["Cmd"] = ["/bin/sh", "/deploy.sh", "/model"]
    config_bytes = canonical_json(config)
    config_descriptor = Descriptor(OCI_CONFIG, sha256_digest(config_bytes), len(config_bytes))
    manifest = canonical_json(
        image_manifest(
            config_descriptor,
            [*base.layers, *(layer.descriptor for layer in model_layers), deploy_layer],
            {
                "org.opencontainers.image.title": name,
                "org.opencontainers.image.version": version,
            },
        )
    )
    return BuiltImage(
        name=name,
        version=version,
        epoch=epoch,
        base=base,
        model_layers=tuple(model_layers),
        deploy_layer=deploy_layer,
        deploy_bytes=deploy_gzip,
        config=config_bytes,
        manifest=manifest,
        files=ordered,
    )


def changed_sources(image: BuiltImage) -> list[str]:
    """Files that are no longer as the build saw them (size, mtime, inode)."""
    changed = []
    for layer in image.model_layers:
        for file in layer.files:
            try:
                info = file.source.stat()
            except OSError:
                changed.append(file.path)
                continue
            if (info.st_size, info.st_mtime_ns, info.st_ino) != (
                file.size,
                file.mtime_ns,
                file.inode,
            ):
                changed.append(file.path)
    return changed


class DigestCache:
    """Layer digests by what their files look like on disk; a layer whose files all have
    the same path, size, mtime and inode as when it was hashed is not read again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            loaded = json.loads(path.read_text())
            self._entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self._entries = {}

    def get(self, layer: ModelLayer, epoch: int) -> LayerHashes | None:
        entry = self._entries.get(_layer_key(layer, epoch))
        if not isinstance(entry, dict):
            return None
        try:
            return LayerHashes(str(entry["digest"]), int(entry["size"]), dict(entry["files"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, layer: ModelLayer, epoch: int, hashes: LayerHashes) -> None:
        self._entries[_layer_key(layer, epoch)] = {
            "digest": hashes.digest,
            "size": hashes.size,
            "files": hashes.files,
        }
        while len(self._entries) > _CACHE_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        write_atomically(self.path, json.dumps(self._entries).encode())


def _layer_key(layer: ModelLayer, epoch: int) -> str:
    described = [
        [f.path, f.size, f.executable, str(f.source), f.mtime_ns, f.inode] for f in layer.files
    ]
    return sha256_digest(canonical_json([epoch, described]))


def _file_json(file: ArtifactPath) -> dict[str, Any]:
    return {
        "path": file.path,
        "source": str(file.source),
        "size": file.size,
        "executable": file.executable,
        "mtime_ns": file.mtime_ns,
        "inode": file.inode,
    }


def _file_from_json(value: Mapping[str, Any]) -> ArtifactPath:
    return ArtifactPath(
        path=str(value["path"]),
        source=Path(value["source"]),
        size=int(value["size"]),
        executable=bool(value["executable"]),
        mtime_ns=int(value["mtime_ns"]),
        inode=int(value["inode"]),
    )
