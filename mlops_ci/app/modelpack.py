"""The ModelPack artifact beside a pushed image (image.modelpack): written by the same push,
tagged ``<tag>.modelpack``, listed among the image's referrers, and tagged again by promote
and publish wherever the image is."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_ci.app.attachments import (
    Referrer,
    Subject,
    list_referrers,
    put_attachment,
    referrers,
)
from mlops_ci.app.attestations import ci_variable
from mlops_ci.app.context import Context
from mlops_ci.core.image_reference import Reference, modelpack_tag
from mlops_ci.core.oci import OCI_MANIFEST, sha256_digest
from mlops_ci.core.referrers import referrer_descriptor
from mlops_ci.errors import ServiceError
from mlops_ci.image.build import BuiltImage
from mlops_ci.image.modelpack import (
    MODELPACK_MANIFEST,
    ModelFacts,
    is_modelpack,
    modelpack_of,
)
from mlops_ci.ports import Registry


@dataclass(frozen=True)
class PushedModelPack:
    reference: str  # REGISTRY/REPOSITORY:TAG.modelpack@sha256:...
    digest: str
    written: bool  # False: the tag had this artifact already


def push_modelpack(
    context: Context, image: BuiltImage, registry: Registry, target: Reference
) -> PushedModelPack:
    """After the image's push: its model layers are in the repository, so only the model
    config and the manifest go up."""
    build = next(
        (r for r in context.records() if r.stage == "build" and r.version == image.version), None
    )
    server = ci_variable(context.environ, "GITHUB_SERVER_URL") or "https://github.com"
    repository = ci_variable(context.environ, "GITHUB_REPOSITORY")
    facts = ModelFacts(
        description=context.manifest.model.description,
        revision=(build.git_sha or "") if build else "",
        source_url=f"{server}/{repository}" if repository else "",
        authors=context.manifest.model.owners,
    )
    artifact = modelpack_of(image, facts)
    subject = Subject(target, registry, image.digest, OCI_MANIFEST, len(image.manifest))
    tag = modelpack_tag(target.tag or image.version)
    written = registry.manifest_digest(target.repository, tag) != artifact.digest
    if written:
        listed = put_attachment(
            subject, tag, artifact.manifest, artifact.config, blobs=(),
            artifact_type=MODELPACK_MANIFEST,
        )  # fmt: skip
    else:
        descriptor = referrer_descriptor(artifact.manifest, artifact.digest, MODELPACK_MANIFEST)
        listed = Referrer(descriptor)
    list_referrers(subject, [listed])  # a no-op when it is listed already
    return PushedModelPack(f"{target.name}:{tag}@{artifact.digest}", artifact.digest, written)


def tag_modelpack(
    registry: Registry, reference: Reference, image_digest: str, size: int, tags: list[str]
) -> list[str]:
    """The image's ModelPack artifact (its referrer) tagged ``<tag>.modelpack`` for each of
    ``tags``; the tags written. An image pushed without one (the docker backend) has none."""
    digest = find_modelpack(registry, reference, image_digest, size)
    if digest is None:
        return []
    body, media_type = registry.get_manifest(reference.repository, digest)
    if sha256_digest(body) != digest:
        raise ServiceError(f"{reference.registry} answered {digest[:19]} with other bytes")
    written = []
    for tag in (modelpack_tag(t) for t in tags):
        if registry.manifest_digest(reference.repository, tag) != digest:
            registry.put_manifest(reference.repository, tag, body, media_type or OCI_MANIFEST)
            written.append(tag)
    return written


def find_modelpack(
    registry: Registry, reference: Reference, image_digest: str, size: int = 0
) -> str | None:
    """The digest of the image's ModelPack artifact, from its referrers; None without one."""
    subject = Subject(reference, registry, image_digest, OCI_MANIFEST, size)
    found = [entry for entry in referrers(subject) if is_modelpack(entry)]
    return str(found[-1]["digest"]) if found else None
