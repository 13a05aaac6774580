"""The base image: resolved once per build (a tag may move), its documents and layers kept
in a content-addressed cache, so a rebuild asks the registry one question and downloads
nothing, and a layer crosses the network at most once per machine."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlops_ci.core.image_reference import Reference, parse_reference
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.image.oci import (
    INDEX_TYPES,
    LAYER_TYPES,
    MANIFEST_TYPES,
    Descriptor,
    oci_name,
    sha256_digest,
)

DEFAULT_PLATFORM = ("linux", "amd64")


class BaseImageError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


class Registry(Protocol):
    """What the base image needs of a registry (adapters/registry.py has the real one)."""

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]: ...

    def get_blob(self, repository: str, digest: str, sink: Callable[[bytes], None]) -> None: ...


@dataclass(frozen=True)
class BaseImage:
    reference: Reference
    manifest_digest: str
    config: Mapping[str, Any]
    layers: tuple[Descriptor, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": str(self.reference),
            "manifest_digest": self.manifest_digest,
            "config": dict(self.config),
            "layers": [layer.to_json() for layer in self.layers],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> BaseImage:
        return cls(
            reference=parse_reference(str(value["reference"])),
            manifest_digest=str(value["manifest_digest"]),
            config=dict(value["config"]),
            layers=tuple(Descriptor.from_json(layer) for layer in value["layers"]),
        )


class BlobCache:
    """Blobs by digest under ``folder``; a blob is written whole and checked, or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def default(cls, environ: Mapping[str, str]) -> BlobCache:
        root = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(environ.get("MLOPS_CI_CACHE", str(Path(root) / "mlops-ci"))) / "blobs")

    def path(self, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        return self.folder / algorithm / hex_digest

    def get(self, digest: str) -> bytes | None:
        try:
            data = self.path(digest).read_bytes()
        except OSError:
            return None
        return data if sha256_digest(data) == digest else None

    def has(self, digest: str, size: int) -> bool:
        try:
            return self.path(digest).stat().st_size == size
        except OSError:
            return False

    def put(self, digest: str, data: bytes) -> None:
        self._write(digest, lambda write: write(data))

    def fetch(self, digest: str, download: Callable[[Callable[[bytes], None]], None]) -> Path:
        """The blob's file, downloaded first when it is not here yet."""
        path = self.path(digest)
        if not path.exists():
            self._write(digest, download)
        return path

    def read(self, digest: str, start: int = 0) -> Iterator[bytes]:
        with self.path(digest).open("rb") as handle:
            handle.seek(start)
            while chunk := handle.read(4 << 20):
                yield chunk

    def _write(self, digest: str, produce: Callable[[Callable[[bytes], None]], None]) -> None:
        path = self.path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".partial-") as handle:

            def write(chunk: bytes) -> None:
                hasher.update(chunk)
                handle.write(chunk)

            produce(write)
            handle.flush()
            if "sha256:" + hasher.hexdigest() != digest:
                raise ServiceError(f"the blob {digest[:19]} arrived with other bytes; try again")
            # A hard link names the checked file; the temporary name goes when it closes.
            with contextlib.suppress(FileExistsError):
                os.link(handle.name, path)


def resolve_base(
    text: str,
    registry: Callable[[Reference], Registry],
    cache: BlobCache,
    platform: tuple[str, str] = DEFAULT_PLATFORM,
) -> BaseImage:
    """The base image ``text`` names: its manifest (for ``platform`` when the name points
    at an index) and config, from the cache when pinned by digest, else asked for."""
    reference = parse_reference(text)
    client = registry(reference)
    body = cache.get(reference.digest) if reference.digest else None
    if body is None:
        body, media_type = client.get_manifest(reference.repository, reference.target)
        document = _parse(body, text)
        if media_type in INDEX_TYPES or document.get("manifests"):
            digest = _pick_platform(document, platform, text)
            body = cache.get(digest)
            if body is None:
                body, _ = client.get_manifest(reference.repository, digest)
        cache.put(sha256_digest(body), body)
    document = _parse(body, text)
    if (
        document.get("mediaType", MANIFEST_TYPES[0]) not in MANIFEST_TYPES
        or "config" not in document
    ):
        raise BaseImageError(f"the base image {text} is not an image manifest")
    config_descriptor = Descriptor.from_json(document["config"])
    config_path = cache.fetch(
        config_descriptor.digest,
        lambda sink: client.get_blob(reference.repository, config_descriptor.digest, sink),
    )
    config = _parse(config_path.read_bytes(), text)
    layers = tuple(
        Descriptor(oci_name(layer["mediaType"]), layer["digest"], int(layer["size"]))
        for layer in document.get("layers", [])
    )
    unknown = [layer.media_type for layer in layers if layer.media_type not in LAYER_TYPES]
    if unknown:
        raise BaseImageError(f"the base image {text} has a layer of type {unknown[0]}")
    return BaseImage(reference, sha256_digest(body), config, layers)


def _pick_platform(index: Mapping[str, Any], platform: tuple[str, str], text: str) -> str:
    wanted_os, wanted_architecture = platform
    for entry in index.get("manifests") or []:
        found = entry.get("platform") or {}
        if found.get("os") == wanted_os and found.get("architecture") == wanted_architecture:
            return str(entry["digest"])
    raise BaseImageError(
        f"the base image {text} has no {wanted_os}/{wanted_architecture} variant; "
        "pick a base image built for it"
    )


def _parse(body: bytes, text: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise BaseImageError(
            f"the base image {text} answered with a document that is not JSON"
        ) from None
    if not isinstance(document, dict):
        raise BaseImageError(
            f"the base image {text} answered with a document that is not an object"
        )
    return document
