"""``image promote|inspect``: a validated candidate's digest tagged as its release (no blob
moves, nothing is rebuilt), and what an image in a registry holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_ci.app.candidates import current_candidate, latest_state
from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools, image_settings
from mlops_ci.app.modelpack import tag_modelpack
from mlops_ci.app.signing import Trust, ensure_trusted
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
    *,
    trust: Trust | None = None,
) -> Promotion:
    """Tags the candidate's digest as ``release_version`` (and ``environment``) by putting
    the same manifest bytes: no blob moves, nothing is rebuilt. With ``trust``
    (release.image.signing) only an image signed and attested as passed is tagged."""
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
    source = registry_tag(version)
    if trust is not None:
        source = _pushed_digest(tools, reference, source)
        ensure_trusted(context, record.version, source, tools, trust)
    return tag_image(tools, reference, source, release_version, environment)


def _pushed_digest(tools: ImageTools, reference: Reference, tag: str) -> str:
    """The digest ``tag`` names now: what is checked is what gets tagged."""
    digest = tools.registry(reference).manifest_digest(reference.repository, tag)
    if digest is None:
        raise UsageError(
            f"{reference.name}:{tag} does not exist; push it first (mlops-ci image push)"
        )
    return digest


def tag_image(
    tools: ImageTools,
    reference: Reference,
    source: str,
    release_version: str,
    environment: str | None,
) -> Promotion:
    """The image at ``source`` (a tag or a digest) tagged ``release_version`` (and
    ``environment``) by putting its manifest bytes again, and its ModelPack artifact
    likewise (``<tag>.modelpack``); tags already on them are left."""
    registry = tools.registry(reference)
    body, media_type = registry.get_manifest(reference.repository, source)
    image_digest = sha256_digest(body)
    tags = (registry_tag(release_version), *((registry_tag(environment),) if environment else ()))
    written = []
    for tag in tags:
        if registry.manifest_digest(reference.repository, tag) != image_digest:
            registry.put_manifest(reference.repository, tag, body, media_type)
            written.append(tag)
    written += tag_modelpack(registry, reference, image_digest, len(body), list(tags))
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
        unpacked = _unpacked(_small_blob(registry, reference, str(last["digest"])))
        if unpacked is not None:
            _check_diff_id(reference, config, len(layers), sha256_digest(unpacked))
            model = _model_json(unpacked)
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


_MOST_UNPACKED = 16 << 20  # a small layer that unpacks to more is no deploy layer of ours


def _unpacked(layer: bytes) -> bytes | None:
    """A gzipped layer unpacked in memory, whole; None when it is not gzip or too big."""
    import zlib

    inflate = zlib.decompressobj(wbits=31)
    try:
        unpacked = inflate.decompress(layer, _MOST_UNPACKED)
    except zlib.error:
        return None
    return None if inflate.unconsumed_tail or not inflate.eof else unpacked


def _check_diff_id(reference: Reference, config: Any, layers: int, digest: str) -> None:
    """The last layer's files are shown only if they are what the image's config says
    (``rootfs.diff_ids``): a layer swapped in the registry is not read as the model's."""
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != layers:
        raise ServiceError(
            f"{reference}: its config lists {len(diff_ids or [])} layer digests "
            f"(rootfs.diff_ids) for {layers} layers; the image is damaged, push it again"
        )
    if diff_ids[-1] != digest:
        raise ServiceError(
            f"{reference}: its last layer unpacks to {digest[:19]}..., but its config says "
            f"{str(diff_ids[-1])[:19]}... (rootfs.diff_ids): the layer was changed after the "
            "image was built; push the image again from its build"
        )


def _model_json(unpacked: bytes) -> Any:
    """/model.json of an unpacked tar layer; None when it holds none."""
    import io
    import tarfile

    try:
        with tarfile.open(fileobj=io.BytesIO(unpacked)) as archive:
            member = archive.extractfile("model.json")
            return json.loads(member.read(4 << 20)) if member else None
    except (tarfile.TarError, KeyError, ValueError, EOFError):
        return None
