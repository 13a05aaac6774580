"""``image sign`` and ``image verify``: signatures of an image's digest in its registry, in
the layout cosign and containers/image read (core.signing).

Signing is idempotent: a signature this key already made for the digest is not added
again, so a re-run finishes the job without a second layer. Verifying trusts nothing the
registry says until the key has vouched for it: every payload is checked against its
digest, its signature and then its contents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlops_ci.app.candidates import current_candidate
from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools
from mlops_ci.core.image_reference import Reference, parse_reference
from mlops_ci.core.records import IMAGE_STAGE
from mlops_ci.core.signing import (
    MOST_PAYLOAD_BYTES,
    OCI_MANIFEST,
    attachment_tag,
    layer_signature,
    payload,
    payload_problem,
    sha256_digest,
    signature_layers,
    signature_manifest,
)
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError, UsageError
from mlops_ci.ports import Registry, SignatureChecker, Signer


class NotSigned(MlopsCiError):
    """No signature the key made vouches for the image: a failed check (exit 1)."""

    exit_status = ExitStatus.CHECK_FAILED


@dataclass(frozen=True)
class SignResult:
    reference: str
    digest: str
    signature_tag: str
    added: bool  # False: this key had signed this digest already


@dataclass(frozen=True)
class VerifyResult:
    reference: str
    digest: str
    signatures: int  # how many of the key's signatures vouch for it


def pushed_reference(context: Context, version: str | None) -> str:
    """The image the candidate (``version``, else the one built at HEAD) was pushed as,
    by its digest: what its image record says."""
    candidate = current_candidate(context, version)
    pushes = sorted(
        (
            r
            for r in context.records()
            if r.stage == IMAGE_STAGE and r.version == candidate.version and r.image_digest
        ),
        key=lambda r: r.finished_at,
    )
    if not pushes:
        raise UsageError(
            f"{candidate.version} was never pushed; run `mlops-ci image push` first "
            "(or give the image's REFERENCE)"
        )
    pushed = parse_reference(str(pushes[-1].details.get("reference", "")))
    return f"{pushed.name}@{pushes[-1].image_digest}"


def sign_image(text: str, tools: ImageTools, key: Signer) -> SignResult:
    reference, registry, digest = _resolve(text, tools)
    tag = attachment_tag(digest)
    signed = payload(reference.name, digest)
    layers: list[dict[str, object]] = []
    if registry.manifest_digest(reference.repository, tag) is not None:
        body, _ = registry.get_manifest(reference.repository, tag)
        layers = [dict(layer) for layer in signature_layers(body)]
        for _, known in _verified(registry, reference, layers, key.public):
            if payload_problem(known, reference.name, digest) is None:
                return SignResult(str(reference), digest, tag, added=False)
    manifest, config = signature_manifest(layers, signed, key.sign(signed))
    for blob in (signed, config):
        _upload(registry, reference.repository, blob)
    registry.put_manifest(reference.repository, tag, manifest, OCI_MANIFEST)
    return SignResult(str(reference), digest, tag, added=True)


def verify_image(text: str, tools: ImageTools, key: SignatureChecker) -> VerifyResult:
    reference, registry, digest = _resolve(text, tools)
    tag = attachment_tag(digest)
    if registry.manifest_digest(reference.repository, tag) is None:
        raise NotSigned(f"{reference} ({digest[:19]}) is not signed: no {tag} beside it")
    body, _ = registry.get_manifest(reference.repository, tag)
    layers = signature_layers(body)
    problems: list[str] = []
    vouching = 0
    for _, data in _verified(registry, reference, layers, key, problems):
        problem = payload_problem(data, reference.name, digest)
        if problem is None:
            vouching += 1
        else:
            problems.append(f"a signature of this key: {problem}")
    if not vouching:
        why = "; ".join(dict.fromkeys(problems)) or "none of its signatures is of this key"
        raise NotSigned(f"{reference} ({digest[:19]}) has no valid signature of this key: {why}")
    return VerifyResult(str(reference), digest, vouching)


def _resolve(text: str, tools: ImageTools) -> tuple[Reference, Registry, str]:
    reference = parse_reference(text)
    registry = tools.registry(reference)
    digest = registry.manifest_digest(reference.repository, reference.target)
    if digest is None:
        raise UsageError(f"{reference} does not exist; push it first (mlops-ci image push)")
    if reference.digest is not None and digest != reference.digest:
        raise ServiceError(f"{reference.registry} answered {reference} with another digest")
    return reference, registry, digest


def _verified(
    registry: Registry,
    reference: Reference,
    layers: list[dict[str, object]],
    key: SignatureChecker,
    problems: list[str] | None = None,
) -> Iterator[tuple[dict[str, object], bytes]]:
    """The layers whose payload has its digest's bytes and the key's signature over them."""
    for layer in layers:
        signature = layer_signature(layer)
        data = _small_blob(registry, reference.repository, str(layer["digest"]))
        if signature is None or data is None:
            if problems is not None:
                problems.append("a signature layer that cannot be read")
            continue
        if key.verifies(data, signature):
            yield layer, data
        elif problems is not None:
            problems.append("a signature another key made (or bytes changed since)")


def _small_blob(registry: Registry, repository: str, digest: str) -> bytes | None:
    parts: list[bytes] = []
    size = 0

    class TooBig(Exception):
        pass

    def keep(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > MOST_PAYLOAD_BYTES:
            raise TooBig
        parts.append(chunk)

    try:
        registry.get_blob(repository, digest, keep)
    except TooBig:
        return None
    data = b"".join(parts)
    return data if sha256_digest(data) == digest else None


def _upload(registry: Registry, repository: str, blob: bytes) -> None:
    digest = sha256_digest(blob)
    if registry.blob_exists(repository, digest):
        return

    def chunks(start: int) -> Iterator[bytes]:
        yield blob[start:]

    registry.upload_blob(repository, digest, len(blob), chunks)
