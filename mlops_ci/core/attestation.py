"""Attestations as in-toto statements in DSSE envelopes, and where they live beside an image.

A statement names the image by digest (its subject) and says something of it (its
predicate): SLSA provenance v1 (how it was built: the workflow, the commit, the data), the
gates it passed (mlops-ci's predicate) or its bill of materials (CycloneDX). The envelope is
signed over DSSE's pre-authentication encoding, so the payload's type cannot be swapped.
Envelopes are the layers of one OCI manifest tagged ``sha256-<digest hex>.att``, as cosign
writes them; sigstore's policy-controller and Kyverno read that layout.

Pure: bytes made and read here; signing keys and the registry are elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.referrers import attached_layers

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
PREDICATE_ANNOTATION = "predicateType"  # what cosign puts on each attestation layer
COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"  # empty for attestations
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
GATES = "https://mlops-ci.dev/attestation/gates/v1"
CYCLONEDX_BOM = "https://cyclonedx.org/bom"
BUILD_TYPE = "https://mlops-ci.dev/build/model-image/v1"
MOST_ENVELOPE_BYTES = 4 << 20  # a BOM of many files is the biggest; more is none of ours


def attestation_tag(manifest_digest: str) -> str:
    """Where a digest's attestations are: ``sha256:ab…`` is ``sha256-ab….att``."""
    algorithm, _, encoded = manifest_digest.partition(":")
    return f"{algorithm}-{encoded}.att"


def statement(
    subject_name: str, manifest_digest: str, predicate_type: str, predicate: Mapping[str, Any]
) -> bytes:
    """The in-toto statement that ``predicate`` holds of the image ``manifest_digest``."""
    algorithm, _, encoded = manifest_digest.partition(":")
    document = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {algorithm: encoded}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def pre_authentication(payload_type: str, payload: bytes) -> bytes:
    """DSSE's PAE: what is signed, so that the type is signed with the bytes."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, signature: bytes) -> bytes:
    document = {
        "payloadType": IN_TOTO_PAYLOAD,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope as read (untrusted until a key verifies a signature over ``signed``)."""

    payload: bytes
    signatures: tuple[bytes, ...]

    @property
    def signed(self) -> bytes:
        return pre_authentication(IN_TOTO_PAYLOAD, self.payload)


def read_envelope(data: bytes) -> Envelope | None:
    """The envelope in ``data``, or None when it is not an in-toto DSSE envelope."""
    try:
        document = json.loads(data)
        if document["payloadType"] != IN_TOTO_PAYLOAD:
            return None
        payload = base64.b64decode(document["payload"], validate=True)
        signatures = tuple(
            base64.b64decode(entry["sig"], validate=True) for entry in document["signatures"]
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return Envelope(payload, signatures)


@dataclass(frozen=True)
class Statement:
    predicate_type: str
    predicate: Mapping[str, Any]


def statement_problem(
    payload: bytes, subject_name: str, manifest_digest: str
) -> tuple[Statement | None, str | None]:
    """The statement a verified payload makes, or why it does not speak of this image."""
    try:
        document = json.loads(payload)
        kind = document["_type"]
        subjects = document["subject"]
        predicate_type = document["predicateType"]
        predicate = document["predicate"]
        if not isinstance(subjects, list) or not isinstance(predicate, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return None, "its payload is not an in-toto statement"
    if kind != STATEMENT_TYPE:
        return None, f"its statement is of type {str(kind)[:80]!r}"
    algorithm, _, encoded = manifest_digest.partition(":")
    for subject in subjects:
        if (
            isinstance(subject, dict)
            and isinstance(subject.get("digest"), dict)
            and subject["digest"].get(algorithm) == encoded
        ):
            if subject.get("name") != subject_name:
                return (
                    None,
                    f"it was made for another repository ({str(subject.get('name'))[:120]})",
                )
            return Statement(str(predicate_type), predicate), None
    return None, "it speaks of another image"


def attestation_manifest_layer(
    envelope_bytes: bytes, digest: str, predicate_type: str
) -> dict[str, Any]:
    """The layer of the ``.att`` manifest that holds one envelope (``digest`` its sha256)."""
    return {
        "mediaType": DSSE_ENVELOPE,
        "digest": digest,
        "size": len(envelope_bytes),
        "annotations": {COSIGN_SIGNATURE_ANNOTATION: "", PREDICATE_ANNOTATION: predicate_type},
    }


def attestation_layers(manifest: bytes) -> list[dict[str, Any]]:
    """The envelope layers of an ``.att`` manifest (untrusted: anything else gives none)."""
    return [
        layer
        for layer in attached_layers(manifest, DSSE_ENVELOPE, PREDICATE_ANNOTATION)
        if isinstance(layer.get("size"), int)
    ]


# -- predicates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    """Something the image was made from: the commit, a data set (its fingerprint)."""

    uri: str
    digest: Mapping[str, str]
    name: str | None = None


def provenance(
    *,
    builder: str,
    workflow: Mapping[str, str],
    materials: Sequence[Material],
    invocation: str | None,
    started: str | None,
    finished: str | None,
    parameters: Mapping[str, Any],
) -> dict[str, Any]:
    """A SLSA provenance v1 predicate: ``workflow`` the external parameters (repository,
    ref, path of the workflow), ``materials`` the resolved dependencies."""
    dependencies = []
    for material in materials:
        entry: dict[str, Any] = {"uri": material.uri, "digest": dict(material.digest)}
        if material.name:
            entry["name"] = material.name
        dependencies.append(entry)
    metadata: dict[str, str] = {}
    if invocation:
        metadata["invocationId"] = invocation
    if started:
        metadata["startedOn"] = started
    if finished:
        metadata["finishedOn"] = finished
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {"workflow": dict(workflow), **dict(parameters)},
            "internalParameters": {},
            "resolvedDependencies": dependencies,
        },
        "runDetails": {"builder": {"id": builder}, "metadata": metadata},
    }


def gates_passed(predicate: Mapping[str, Any]) -> str | None:
    """Why a gates predicate does not admit its image, or None when every stage passed."""
    result = predicate.get("result")
    if result == "passed":
        return None
    failed = [
        str(stage.get("stage"))
        for stage in predicate.get("stages") or []
        if isinstance(stage, dict) and stage.get("verdict") != "passed"
    ]
    said = ", ".join(failed[:5]) or "no stage"
    return f"its gates say {str(result)[:20]!r} ({said} did not pass)"
