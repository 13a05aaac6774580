"""``image promote|inspect``: a validated candidate's digest tagged as its release (no blob
moves, nothing is rebuilt), and what an image in a registry holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_ci.app.candidates import current_candidate, latest_state
from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools, image_settings
from mlops_ci.core.image_reference import Reference, parse_reference, registry_tag
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.image.oci import sha256_digest
from mlops_ci.ports import Registry

PROMOTABLE = ("validated", "released")


@dataclass(frozen=True)
class Promotion:
    reference: str
    digest: str
    tags: tuple[str, ...]
    written: tuple[str, ...]


def promote_image(
    context: Context,
    version: str,
    release_version: str,
    environment: str | None,
    tools: ImageTools,
) -> Promotion:
    """Tags the candidate's digest as ``release_version`` (and ``environment``) by putting
    the same manifest bytes: no blob moves, nothing is rebuilt."""
    record = current_candidate(context, version)
    state = latest_state(context, record)
    if state not in PROMOTABLE:
        raise UsageError(
            f"{record.version} is {state}, not validated; only a validated candidate is promoted"
        )
    repository = image_settings(context).repository
    if repository.startswith("oci:"):
        raise UsageError("promote works on a registry; release.image.repository is a folder")
    reference = parse_reference(repository)
    return tag_image(tools, reference, registry_tag(version), release_version, environment)


def tag_image(
    tools: ImageTools,
    reference: Reference,
    source: str,
    release_version: str,
    environment: str | None,
) -> Promotion:
    """The image at ``source`` (a tag or a digest) tagged ``release_version`` (and
    ``environment``) by putting its manifest bytes again; tags already on it are left."""
    registry = tools.registry(reference)
    body, media_type = registry.get_manifest(reference.repository, source)
    image_digest = sha256_digest(body)
    tags = (registry_tag(release_version), *((registry_tag(environment),) if environment else ()))
    written = []
    for tag in tags:
        if registry.manifest_digest(reference.repository, tag) != image_digest:
            registry.put_manifest(reference.repository, tag, body, media_type)
            written.append(tag)
    return Promotion(f"{reference.name}@{image_digest}", image_digest, tags, tuple(written))


def inspect_remote(text: str, tools: ImageTools) -> dict[str, Any]:
    """What an image in a registry holds: its digest, layers, labels and model.json (read
    from its small last layer, never more than a few MiB of it)."""
    reference = parse_reference(text)
    registry = tools.registry(reference)
    body, media_type = registry.get_manifest(reference.repository, reference.target)
    try:
        manifest = json.loads(body)
        layers = list(manifest.get("layers") or [])
        config = json.loads(_small_blob(registry, reference, manifest["config"]["digest"]))
        labels = (config.get("config") or {}).get("Labels") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ServiceError(
            f"{reference} is not an image mlops-ci can read (an index, or another format)"
        ) from None
    model: Any = None
    last: dict[str, Any] = layers[-1] if layers and isinstance(layers[-1], dict) else {}
    small = int(last.get("size", _SMALL)) < _SMALL
    if small and str(last.get("mediaType", "")).endswith("+gzip"):
        model = _model_json(_small_blob(registry, reference, str(last["digest"])))
    return {
        "reference": str(reference),
        "digest": sha256_digest(body),
        "media_type": media_type,
        "layers": layers,
        "labels": labels,
        "model": model,
    }


_SMALL = 1 << 20


def _small_blob(registry: Registry, reference: Reference, digest: str) -> bytes:
    parts: list[bytes] = []
    size = 0

    def keep(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > _SMALL:
            raise ServiceError(f"{reference}: the blob {digest[:19]} is larger than expected")
        parts.append(chunk)

    registry.get_blob(reference.repository, digest, keep)
    data = b"".join(parts)
    if sha256_digest(data) != digest:
        raise ServiceError(f"{reference}: the blob {digest[:19]} arrived with other bytes")
    return data


def _model_json(layer: bytes) -> Any:
    """/model.json of a gzipped tar layer, unpacked in memory up to 16 MiB (a small layer
    that unpacks to more is no deploy layer of ours)."""
    import io
    import tarfile
    import zlib

    try:
        unpacked = zlib.decompressobj(wbits=31).decompress(layer, 16 << 20)
        with tarfile.open(fileobj=io.BytesIO(unpacked)) as archive:
            member = archive.extractfile("model.json")
            return json.loads(member.read(4 << 20)) if member else None
    except (zlib.error, tarfile.TarError, KeyError, ValueError, EOFError):
        return None
