"""Where a built image goes: a registry (push, promote), an OCI layout folder, or a tar that
``docker load`` reads. Every blob streams from where it lives (the model files, the base
cache); none is copied first."""

from __future__ import annotations

import json
import logging
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlops_ci.core.image_reference import Reference
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.base import BlobCache, Registry
from mlops_ci.image.build import BuiltImage, changed_sources
from mlops_ci.image.oci import OCI_INDEX, OCI_MANIFEST, Descriptor, canonical_json
from mlops_ci.image.tarstream import SourceChangedError
from mlops_ci.ports import Meter

log = logging.getLogger(__name__)


class PublishError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


class PushRegistry(Protocol):
    registry: str

    def blob_exists(self, repository: str, digest: str) -> bool: ...

    def mount_blob(self, repository: str, digest: str, source: str) -> bool: ...

    def upload_blob(
        self, repository: str, digest: str, size: int, source: Callable[[int], Iterator[bytes]]
    ) -> None: ...

    def manifest_digest(self, repository: str, reference: str) -> str | None: ...

    def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str: ...


class Blobs:
    """The bytes of every blob of a built image, from any offset."""

    def __init__(
        self, image: BuiltImage, cache: BlobCache, base_registry: Callable[[], Registry]
    ) -> None:
        self.image = image
        self.cache = cache
        self._base_registry = base_registry

    def descriptors(self) -> list[Descriptor]:
        """Every blob the manifest names: layers, then the config."""
        image = self.image
        return [
            *image.base.layers,
            *(layer.descriptor for layer in image.model_layers),
            image.deploy_layer,
            image.config_descriptor,
        ]

    def is_base(self, digest: str) -> bool:
        return any(layer.digest == digest for layer in self.image.base.layers)

    def open(self, descriptor: Descriptor, start: int = 0) -> Iterator[bytes]:
        image = self.image
        for layer in image.model_layers:
            if layer.descriptor.digest == descriptor.digest:
                return layer.tar(image.epoch).stream(start)
        if descriptor.digest == image.deploy_layer.digest:
            return iter([image.deploy_bytes[start:]])
        if descriptor.digest == image.config_descriptor.digest:
            return iter([image.config[start:]])
        base = image.base.reference
        self.cache.fetch(
            descriptor.digest,
            lambda sink: self._base_registry().get_blob(base.repository, descriptor.digest, sink),
        )
        return self.cache.read(descriptor.digest, start)


def check_sources(image: BuiltImage) -> None:
    changed = changed_sources(image)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise SourceChangedError(
            f"model files changed since `mlops-ci image build` hashed them ({shown}); "
            "build the image again"
        )


@dataclass(frozen=True)
class PushResult:
    reference: str
    digest: str
    uploaded: int
    uploaded_bytes: int
    present: int
    mounted: int
    manifest_written: bool
    engine: bool = False  # pushed by the Docker engine (which counts nothing for us)
    modelpack: str | None = None  # the ModelPack artifact pushed beside it (app.modelpack)


def push(
    image: BuiltImage,
    blobs: Blobs,
    registry: PushRegistry,
    target: Reference,
    meter: Meter | None = None,
    *,
    mount_from: Sequence[str] = (),
) -> PushResult:
    """Puts every blob the registry lacks, then the manifest under ``target``'s tag. Blobs
    already there are skipped (HEAD); the others are mounted when the same registry holds
    them under another repository (the base's for its layers, ``mount_from``, the
    repositories this model was pushed to before, for the rest), else uploaded. A tag
    already on this digest is left alone. ``meter`` is told the bytes in place so far
    (those skipped count as in place)."""
    check_sources(image)
    repository = target.repository
    uploaded = uploaded_bytes = present = mounted = 0
    base = image.base.reference
    base_sources = [base.repository] if base.api_host == target.api_host else []
    in_place = 0
    for descriptor in blobs.descriptors():
        sources = base_sources if blobs.is_base(descriptor.digest) else mount_from
        if registry.blob_exists(repository, descriptor.digest):
            present += 1
        elif _mounted(registry, repository, descriptor.digest, sources):
            mounted += 1
        else:
            log.info("uploading %s (%d bytes)", descriptor.digest[:19], descriptor.size)
            registry.upload_blob(
                repository,
                descriptor.digest,
                descriptor.size,
                lambda start, d=descriptor, b=in_place: _metered(  # type: ignore[misc]
                    blobs.open(d, start), meter, b + start
                ),
            )
            uploaded += 1
            uploaded_bytes += descriptor.size
        in_place += descriptor.size
        if meter is not None:
            meter.update(in_place)
    tag = target.tag or image.version
    written = registry.manifest_digest(repository, tag) != image.digest
    if written:
        registry.put_manifest(repository, tag, image.manifest, OCI_MANIFEST)
    return PushResult(
        f"{target.name}:{tag}@{image.digest}",
        image.digest,
        uploaded,
        uploaded_bytes,
        present,
        mounted,
        written,
    )


def _mounted(registry: PushRegistry, repository: str, digest: str, sources: Sequence[str]) -> bool:
    return any(
        registry.mount_blob(repository, digest, source)
        for source in sources
        if source != repository
    )


def _metered(chunks: Iterator[bytes], meter: Meter | None, before: int) -> Iterator[bytes]:
    """The chunks, ``meter`` told the bytes sent as the registry takes them."""
    sent = before
    for chunk in chunks:
        yield chunk
        sent += len(chunk)
        if meter is not None:
            meter.update(sent)


def write_oci_layout(image: BuiltImage, blobs: Blobs, folder: Path, tag: str) -> None:
    """Adds the image to the OCI layout at ``folder`` (made when missing) under ``tag``;
    blobs already there are kept, each new one appears whole or not at all."""
    check_sources(image)
    (folder / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
    for descriptor in [*blobs.descriptors(), _manifest_descriptor(image)]:
        path = folder / "blobs" / "sha256" / descriptor.digest.partition(":")[2]
        if path.exists() and path.stat().st_size == descriptor.size:
            continue
        source = (
            iter([image.manifest]) if descriptor.digest == image.digest else blobs.open(descriptor)
        )
        write_atomically(path, source)
    index_path = folder / "index.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    kept = [
        entry
        for entry in index.get("manifests", [])
        if (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name") != tag
    ]
    entry = _manifest_descriptor(image).to_json()
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    index["manifests"] = [*kept, entry]
    write_atomically(index_path, canonical_json(index))


def docker_archive(image: BuiltImage, blobs: Blobs, name: str) -> Iterator[bytes]:
    """A tar that ``docker load`` reads (its manifest.json) and that is also an OCI layout,
    streamed: nothing is written to disk."""
    check_sources(image)
    documents = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {
                        **_manifest_descriptor(image).to_json(),
                        "annotations": {"io.containerd.image.name": name},
                    }
                ],
            }
        ),
        "manifest.json": canonical_json(
            [
                {
                    "Config": _blob_name(image.config_descriptor.digest),
                    "RepoTags": [name],
                    "Layers": [
                        _blob_name(d.digest)
                        for d in blobs.descriptors()
                        if d.digest != image.config_descriptor.digest
                    ],
                }
            ]
        ),
    }
    for file_name, data in documents.items():
        yield from _entry(file_name, len(data), image.epoch)
        yield data + b"\0" * (-len(data) % 512)
    yield from _entry(_blob_name(image.digest), len(image.manifest), image.epoch)
    yield image.manifest + b"\0" * (-len(image.manifest) % 512)
    for descriptor in blobs.descriptors():
        yield from _entry(_blob_name(descriptor.digest), descriptor.size, image.epoch)
        written = 0
        for chunk in blobs.open(descriptor):
            written += len(chunk)
            yield chunk
        if written != descriptor.size:
            raise PublishError(f"the blob {descriptor.digest[:19]} is not the size it was")
        if descriptor.size % 512:
            yield b"\0" * (-descriptor.size % 512)
    yield b"\0" * 1024


def _entry(name: str, size: int, mtime: int) -> Iterator[bytes]:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    yield info.tobuf(format=tarfile.PAX_FORMAT)


def _blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.partition(":")[2]


def _manifest_descriptor(image: BuiltImage) -> Descriptor:
    return Descriptor(OCI_MANIFEST, image.digest, len(image.manifest))
