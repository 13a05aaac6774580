"""A model image: the base, one uncompressed layer of model files per shard, and a small
gzipped layer with ``/deploy.sh``, ``/model.json``, ``/model.sha256`` and the model's
empty folders.

The build reads every file once, for its sha256 and its layer's; nothing is copied. What it
computed is kept as a small JSON state (``BuiltImage``), from which a push, an OCI layout
or a ``docker load`` tar stream the layers from the files again. A rebuild whose files have
the same size, mtime and inode as last time takes their digests from a cache instead of
reading gigabytes once more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.files.artifacts import ArtifactPath
from mlops_ci.image.base import BaseImage
from mlops_ci.image.deploy_script import MODEL_FOLDER, ShippedFile, deploy_files
from mlops_ci.image.digest_cache import DigestCache
from mlops_ci.image.layers import ModelLayer, file_from_json, file_json, shards
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
    Member,
    TarLayer,
    data_member,
    members_with_folders,
)

DEFAULT_EPOCH = 0


class ImageBuildError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


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
                    "files": [file_json(f) for f in layer.files],
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
                    tuple(file_from_json(f) for f in layer["files"]),
                )
                for layer in value["model_layers"]
            ),
            deploy_layer=Descriptor.from_json(value["deploy_layer"]),
            deploy_bytes=bytes.fromhex(value["deploy_bytes"]),
            config=str(value["config"]).encode(),
            manifest=str(value["manifest"]).encode(),
            files=tuple(ShippedFile.from_json(f) for f in value["files"]),
        )


def build_image(
    name: str,
    version: str,
    files: Sequence[ArtifactPath],
    base: BaseImage,
    *,
    layer_size: int,
    epoch: int = DEFAULT_EPOCH,
    cache: DigestCache | None = None,
    folders: Sequence[str] = (),
    card: bytes = b"",
    known: Mapping[str, str] | None = None,
) -> BuiltImage:
    """``known``: files' sha256 by path, taken when they were last hashed (and checked
    unchanged since by the caller); a layer of such files is read for its digest alone."""
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
            sums = {f"{MODEL_FOLDER}/{f.path}": (known or {}).get(f.path) for f in group}
            given = {name: sha for name, sha in sums.items() if sha is not None}
            hashes = layer.tar(epoch).hash(given)
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
                    *(
                        data_member(file_name, data, executable=executable)
                        for file_name, data, executable in deploy_files(
                            name, version, ordered, folders, card
                        )
                    ),
                    *(Member(f"{MODEL_FOLDER}/{folder}") for folder in folders),
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
