"""OCI image documents: media types, descriptors, the config and the manifest, as canonical
JSON (sorted keys, no spaces), so the same inputs give the same digests everywhere."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.core.oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, sha256_digest

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "INDEX_TYPES",
    "LAYER_TYPES",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_MANIFEST",
    "Descriptor",
    "canonical_json",
    "image_config",
    "image_manifest",
    "oci_name",
    "rfc3339",
    "sha256_digest",
    "stored_gzip",
]

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
# Docker's names for the same bytes: a base image's layers keep their bytes and take the OCI name.
_OCI_NAMES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": OCI_LAYER,
    DOCKER_CONFIG: OCI_CONFIG,
}
LAYER_TYPES = (OCI_LAYER, OCI_LAYER_GZIP, "application/vnd.oci.image.layer.v1.tar+zstd")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.annotations:
            found["annotations"] = dict(self.annotations)
        return found

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Descriptor:
        return cls(
            media_type=str(value["mediaType"]),
            digest=str(value["digest"]),
            size=int(value["size"]),
            annotations=dict(value.get("annotations") or {}),
        )


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def oci_name(media_type: str) -> str:
    return _OCI_NAMES.get(media_type, media_type)


def rfc3339(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_config(
    base: Mapping[str, Any],
    diff_ids: Sequence[str],
    history: Sequence[Mapping[str, Any]],
    created: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The base's config with our layers' diff ids and history entries appended and our
    labels added; nothing from the machine that builds it."""
    config = dict(base.get("config") or {})
    config["Labels"] = {**(config.get("Labels") or {}), **labels}
    return {
        "architecture": base.get("architecture", "amd64"),
        "os": base.get("os", "linux"),
        **({"variant": base["variant"]} if "variant" in base else {}),
        "created": created,
        "config": config,
        "rootfs": {
            "type": "layers",
            "diff_ids": [*(base.get("rootfs") or {}).get("diff_ids", []), *diff_ids],
        },
        "history": [*(base.get("history") or []), *history],
    }


def image_manifest(
    config: Descriptor, layers: Sequence[Descriptor], annotations: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
        **({"annotations": dict(annotations)} if annotations else {}),
    }


def stored_gzip(data: bytes) -> bytes:
    """``data`` as a gzip member of stored (uncompressed) deflate blocks: the same bytes
    from every zlib (zlib-ng and others compress differently), which a digest needs. It is
    only used for the small deploy layer."""
    blocks = []
    for start in range(0, max(len(data), 1), 65535):
        block = data[start : start + 65535]
        final = 1 if start + 65535 >= len(data) else 0
        blocks.append(struct.pack("<BHH", final, len(block), 0xFFFF ^ len(block)) + block)
    header = b"\x1f\x8b\x08\x00" + b"\0\0\0\0" + b"\x00\xff"  # no name, mtime 0, OS unknown
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + b"".join(blocks) + trailer
