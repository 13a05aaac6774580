"""What is attached to an image (signatures, attestations, its BOM), as OCI referrers.

An attachment is a manifest whose ``subject`` is the image. A registry with the referrers
API lists those by itself; for one without it (distribution 2.8 among them) the client keeps
the list as an image index tagged ``sha256-<digest hex>``, the OCI distribution spec's
referrers tag schema. The same attachment manifests are tagged as cosign names them
(``.sig``, ``.att``), so cosign, containers/image and the admission controllers that read
that layout find them too.

Pure: documents made and read here; the registry is elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mlops_ci.core.oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, sha256_digest

MOST_INDEX_BYTES = 1 << 20  # thousands of referrers; a bigger fallback index is none of ours


def referrers_tag(manifest_digest: str) -> str:
    """The fallback tag listing a digest's referrers: ``sha256:ab…`` is ``sha256-ab…``."""
    algorithm, _, encoded = manifest_digest.partition(":")
    return f"{algorithm}-{encoded}"


def attachment_manifest(
    layers: Sequence[Mapping[str, Any]],
    subject: Mapping[str, Any],
    artifact_type: str,
) -> tuple[bytes, bytes]:
    """A manifest of ``layers`` that refers to ``subject`` (the image's descriptor), and its
    config: an image config naming the layers, as cosign writes it, so that tools that
    read only images can still read the attachment."""
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [entry["digest"] for entry in layers]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
        "layers": [dict(layer) for layer in layers],
        "subject": dict(subject),
    }
    return json.dumps(manifest, separators=(",", ":")).encode(), config


def attached_layers(manifest: bytes, media_type: str, annotation: str) -> list[dict[str, Any]]:
    """The layers of an attachment manifest of ``media_type`` that carry ``annotation``
    (untrusted: anything else, or a manifest that is not one, gives none)."""
    try:
        layers = json.loads(manifest)["layers"]
    except (ValueError, KeyError, TypeError):
        return []
    if not isinstance(layers, list):
        return []
    return [
        layer
        for layer in layers
        if isinstance(layer, dict)
        and layer.get("mediaType") == media_type
        and isinstance(layer.get("digest"), str)
        and isinstance((layer.get("annotations") or {}).get(annotation), str)
    ]


def referrer_descriptor(
    manifest: bytes, digest: str, artifact_type: str, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(manifest),
        "artifactType": artifact_type,
    }
    if annotations:
        entry["annotations"] = dict(annotations)
    return entry


def referrers_of(index: bytes | None) -> list[dict[str, Any]]:
    """The descriptors a referrers index lists (untrusted: anything else gives none)."""
    if index is None:
        return []
    try:
        manifests = json.loads(index)["manifests"]
    except (ValueError, KeyError, TypeError):
        return []
    if not isinstance(manifests, list):
        return []
    return [
        entry
        for entry in manifests
        if isinstance(entry, dict)
        and isinstance(entry.get("digest"), str)
        and isinstance(entry.get("size"), int)
    ]


def with_referrer(
    index: bytes | None, descriptor: Mapping[str, Any], replaces: Collection[str] = ()
) -> bytes | None:
    """The fallback index with ``descriptor`` listed once, and the descriptors of digests in
    ``replaces`` (earlier versions of the same attachment) gone; None when it is unchanged.
    Whatever else it lists is kept, in order: other tools' referrers are not ours to drop."""
    listed = referrers_of(index)
    kept = [entry for entry in listed if entry["digest"] not in replaces]
    if any(entry["digest"] == descriptor["digest"] for entry in kept) and len(kept) == len(listed):
        return None
    kept = [entry for entry in kept if entry["digest"] != descriptor["digest"]]
    document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [*kept, dict(descriptor)]}
    return json.dumps(document, separators=(",", ":")).encode()
