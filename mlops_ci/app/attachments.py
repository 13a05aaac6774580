"""What signatures and attestations share in a registry: the image they are attached to
(its descriptor, by digest), small blobs read whole and checked, and the referrers list.

An attachment is a manifest with the image as its ``subject``. A registry with the
referrers API indexes it by itself; for one without (distribution 2.8, the test registry)
it is added to the fallback index tagged ``sha256-<digest hex>`` (core.referrers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.app.image import ImageTools
from mlops_ci.core.image_reference import Reference, parse_reference
from mlops_ci.core.oci import OCI_INDEX, OCI_MANIFEST, sha256_digest
from mlops_ci.core.referrers import (
    MOST_INDEX_BYTES,
    referrer_descriptor,
    referrers_of,
    referrers_tag,
    with_referrer,
)
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.ports import Registry


@dataclass(frozen=True)
class Subject:
    """The image attachments speak of: where it is and its descriptor."""

    reference: Reference
    registry: Registry
    digest: str
    media_type: str
    size: int

    @property
    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def subject_of(text: str, tools: ImageTools) -> Subject:
    reference = parse_reference(text)
    registry = tools.registry(reference)
    found = registry.find_manifest(reference.repository, reference.target)
    if found is None:
        raise UsageError(f"{reference} does not exist; push it first (mlops-ci image push)")
    body, media_type = found  # by digest, the client has held the bytes to it
    return Subject(reference, registry, sha256_digest(body), media_type or OCI_MANIFEST, len(body))


@dataclass(frozen=True)
class Referrer:
    """An attachment manifest as the image's referrers list it, and the earlier versions
    of it that it replaces there."""

    descriptor: dict[str, Any]
    replaces: tuple[str, ...] = ()


def small_blob(registry: Registry, repository: str, digest: str, most: int) -> bytes | None:
    """A blob of at most ``most`` bytes, read whole; None when it is bigger or its bytes
    are not its digest's (a registry's answer is not trusted)."""
    parts: list[bytes] = []
    size = 0

    class TooBig(Exception):
        pass

    def keep(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > most:
            raise TooBig
        parts.append(chunk)

    try:
        registry.get_blob(repository, digest, keep)
    except TooBig:
        return None
    data = b"".join(parts)
    return data if sha256_digest(data) == digest else None


def upload(registry: Registry, repository: str, blob: bytes) -> None:
    """Puts a small blob whole. No HEAD first: that round trip would save a re-run only
    the bytes of a signature or a statement."""

    def chunks(start: int) -> Iterator[bytes]:
        yield blob[start:]

    registry.upload_blob(repository, sha256_digest(blob), len(blob), chunks)


def put_attachment(
    subject: Subject,
    tag: str,
    manifest: bytes,
    config: bytes,
    *,
    blobs: Collection[bytes],
    artifact_type: str,
    replaces: Collection[str] = (),
) -> Referrer:
    """Puts the attachment's blobs, then its manifest under ``tag`` (cosign's name for it);
    the entry that lists it among the image's referrers (list_referrers) in place of
    ``replaces``, its earlier versions. Each step is a no-op when done already, so a
    re-run finishes the job."""
    repository = subject.reference.repository
    for blob in (*blobs, config):
        upload(subject.registry, repository, blob)
    digest = subject.registry.put_manifest(repository, tag, manifest, OCI_MANIFEST)
    descriptor = referrer_descriptor(manifest, sha256_digest(manifest), artifact_type)
    if digest != descriptor["digest"]:
        raise ServiceError(f"{subject.reference.registry} stored {tag} as other bytes")
    return Referrer(descriptor, tuple(replaces))


def list_referrers(subject: Subject, listed: Sequence[Referrer]) -> None:
    """Lists the attachments among the image's referrers: by itself where the registry has
    the referrers API, else in the fallback index, read and written once for all of them."""
    if not listed:
        return
    repository = subject.reference.repository
    if subject.registry.referrers(repository, subject.digest) is not None:
        return  # the registry indexes manifests with a subject by itself
    fallback = referrers_tag(subject.digest)
    before = _fallback_index(subject, fallback)
    index = before
    for referrer in listed:
        changed = with_referrer(index, referrer.descriptor, referrer.replaces)
        index = index if changed is None else changed
    if index is not None and index is not before:
        subject.registry.put_manifest(repository, fallback, index, OCI_INDEX)


def referrers(subject: Subject) -> list[dict[str, Any]]:
    """The descriptors of what is attached to the image, from the referrers API, else the
    fallback index."""
    repository = subject.reference.repository
    listed = subject.registry.referrers(repository, subject.digest)
    if listed is None:
        listed = _fallback_index(subject, referrers_tag(subject.digest))
    return referrers_of(listed)


def _fallback_index(subject: Subject, tag: str) -> bytes | None:
    found = subject.registry.find_manifest(subject.reference.repository, tag)
    if found is None:
        return None
    if len(found[0]) > MOST_INDEX_BYTES:
        raise ServiceError(
            f"{subject.reference.registry}/{subject.reference.repository}:{tag} is too big to read"
        )
    return found[0]
