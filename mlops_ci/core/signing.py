"""Image signatures as sigstore's tools keep them in a registry, as values.

A signature is cosign's "simple signing" payload (the image's manifest digest and the
repository it was signed for) with an ECDSA signature over its bytes, stored as a layer of
an OCI manifest tagged ``sha256-<digest hex>.sig`` in the image's repository. cosign,
containers/image (skopeo, podman, CRI-O with a ``sigstoreSigned`` policy) and sigstore's
policy-controller read that layout.

Pure: the bytes are made and read here; keys, signing and the registry are elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from mlops_ci.core.oci import sha256_digest
from mlops_ci.core.referrers import attached_layers, attachment_manifest

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"
MOST_PAYLOAD_BYTES = 64 << 10  # a payload is a few hundred bytes; more is no signature of ours


def attachment_tag(manifest_digest: str) -> str:
    """Where a digest's signatures are: ``sha256:ab…`` is ``sha256-ab….sig``."""
    algorithm, _, encoded = manifest_digest.partition(":")
    return f"{algorithm}-{encoded}.sig"


def payload(repository: str, manifest_digest: str) -> bytes:
    """The simple-signing payload for the image ``manifest_digest`` in ``repository``
    (registry and path, no tag: the identity a ``matchRepository`` policy checks)."""
    document = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def payload_problem(data: bytes, repository: str, manifest_digest: str) -> str | None:
    """Why a verified payload does not vouch for this image, or None when it does."""
    try:
        document = json.loads(data)
        critical = document["critical"]
        kind = critical["type"]
        digest = critical["image"]["docker-manifest-digest"]
        identity = critical["identity"]["docker-reference"]
    except (ValueError, KeyError, TypeError):
        return "its payload is not a simple-signing document"
    if kind != SIGNATURE_TYPE:
        return f"its payload is of type {str(kind)[:80]!r}"
    if digest != manifest_digest:
        return f"it signs another image ({str(digest)[:80]})"
    if identity != repository:
        return f"it was made for another repository ({str(identity)[:120]})"
    return None


def signature_manifest(
    existing: list[dict[str, Any]],
    signed_payload: bytes,
    signature: bytes,
    subject: Mapping[str, Any],
) -> tuple[bytes, bytes]:
    """The signature manifest with one more layer (``existing`` are the layers already
    there), and its config blob; it refers to ``subject``, the image's descriptor. Layers
    keep their order: a signature is never dropped."""
    layer = {
        "mediaType": PAYLOAD_TYPE,
        "digest": sha256_digest(signed_payload),
        "size": len(signed_payload),
        "annotations": {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
    }
    return attachment_manifest([*existing, layer], subject, PAYLOAD_TYPE)


def signature_layers(manifest: bytes) -> list[dict[str, Any]]:
    """The simple-signing layers of a signature manifest (untrusted: anything else, or a
    manifest that is not one, gives none)."""
    return attached_layers(manifest, PAYLOAD_TYPE, SIGNATURE_ANNOTATION)


def layer_signature(layer: dict[str, Any]) -> bytes | None:
    """The signature a layer's annotation carries, or None when it is not base64."""
    try:
        return base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION], validate=True)
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
