"""``image sign`` and ``image verify``: signatures of an image's digest in its registry, in
the layout cosign and containers/image read (core.signing).

Signing is idempotent: a signature this key already made for the digest is not added
again, so a re-run finishes the job without a second layer. Verifying trusts nothing the
registry says until the key has vouched for it: every payload is checked against its
digest, its signature and then its contents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_ci.app.attachments import (
    Referrer,
    Subject,
    list_referrers,
    put_attachment,
    small_blob,
    subject_of,
)
from mlops_ci.app.candidates import current_candidate
from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools
from mlops_ci.core.image_reference import Reference, parse_reference
from mlops_ci.core.oci import OCI_MANIFEST, sha256_digest
from mlops_ci.core.records import IMAGE_STAGE
from mlops_ci.core.referrers import referrer_descriptor
from mlops_ci.core.signing import (
    MOST_PAYLOAD_BYTES,
    PAYLOAD_TYPE,
    attachment_tag,
    layer_signature,
    payload,
    payload_problem,
    signature_layers,
    signature_manifest,
)
from mlops_ci.errors import ExitStatus, MlopsCiError, UsageError
from mlops_ci.ports import Registry, SignatureChecker, Signer

if TYPE_CHECKING:
    from mlops_ci.app.attestations import Attested, AttestResult
    from mlops_ci.image.build import BuiltImage
    from mlops_ci.image.publish import PushResult
    from mlops_ci.report.bom import ModelFile


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
    subject = subject_of(text, tools)
    return sign_subject(subject, key)


def sign_subject(subject: Subject, key: Signer) -> SignResult:
    signed, referrer = write_signature(subject, key)
    list_referrers(subject, [referrer])
    return signed


def write_signature(subject: Subject, key: Signer) -> tuple[SignResult, Referrer]:
    """The key's signature of the image beside it, and its entry among the image's
    referrers (for list_referrers: a signature and attestations are listed in one go)."""
    reference, registry, digest = subject.reference, subject.registry, subject.digest
    tag = attachment_tag(digest)
    signed = payload(reference.name, digest)
    layers: list[dict[str, object]] = []
    before: list[str] = []
    if (known := registry.find_manifest(reference.repository, tag)) is not None:
        body = known[0]
        before.append(sha256_digest(body))
        layers = [dict(layer) for layer in signature_layers(body)]
        for _, data in _verified(registry, reference, layers, key.public):
            if payload_problem(data, reference.name, digest) is None:
                listed = Referrer(referrer_descriptor(body, before[0], PAYLOAD_TYPE))
                return SignResult(str(reference), digest, tag, added=False), listed
    manifest, config = signature_manifest(layers, signed, key.sign(signed), subject.descriptor)
    referrer = put_attachment(
        subject, tag, manifest, config, blobs=[signed], artifact_type=PAYLOAD_TYPE, replaces=before
    )
    return SignResult(str(reference), digest, tag, added=True), referrer


def verify_image(text: str, tools: ImageTools, key: SignatureChecker) -> VerifyResult:
    return verify_subject(subject_of(text, tools), key)


def verify_subject(subject: Subject, key: SignatureChecker) -> VerifyResult:
    reference, registry, digest = subject.reference, subject.registry, subject.digest
    tag = attachment_tag(digest)
    if (found := registry.find_manifest(reference.repository, tag)) is None:
        raise NotSigned(f"{reference} ({digest[:19]}) is not signed: no {tag} beside it")
    body = found[0]
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
        data = small_blob(registry, reference.repository, str(layer["digest"]), MOST_PAYLOAD_BYTES)
        if signature is None or data is None:
            if problems is not None:
                problems.append("a signature layer that cannot be read")
            continue
        if key.verifies(data, signature):
            yield layer, data
        elif problems is not None:
            problems.append("a signature another key made (or bytes changed since)")


def sign_candidate(
    context: Context, version: str | None, tools: ImageTools, key: Signer
) -> tuple[SignResult, AttestResult]:
    """Signs the candidate's pushed image and attests what its records say of it: the
    provenance, the gates and the ML-BOM (its files read from the image's model.json).
    Its ModelPack artifact, when it has one, is signed and attested alike: an image
    volume mounts that one, and an admission policy checks what is mounted."""
    subject = subject_of(pushed_reference(context, version), tools)
    return _sign_and_attest(context, version, subject, tools, key)


def sign_push(
    context: Context, image: BuiltImage, pushed: PushResult, tools: ImageTools, key: Signer
) -> tuple[SignResult, AttestResult]:
    """sign_candidate for the push this process just made: the image's manifest and files
    are at hand, so nothing is read back from the registry to learn them."""
    from mlops_ci.report.bom import ModelFile

    reference = parse_reference(pushed.reference)
    subject = Subject(
        reference, tools.registry(reference), image.digest, OCI_MANIFEST, len(image.manifest)
    )
    files = [ModelFile(f.path, f.size, f.sha256) for f in image.files]
    modelpack = subject_of(pushed.modelpack, tools) if pushed.modelpack else None
    return _sign_and_attest_all(context, image.version, subject, modelpack, files=files, key=key)


def _sign_and_attest(
    context: Context, version: str | None, subject: Subject, tools: ImageTools, key: Signer
) -> tuple[SignResult, AttestResult]:
    from mlops_ci.app.attestations import model_files
    from mlops_ci.app.modelpack import find_modelpack
    from mlops_ci.app.promote import inspect_remote

    files = model_files(inspect_remote(f"{subject.reference.name}@{subject.digest}", tools))
    found = find_modelpack(subject.registry, subject.reference, subject.digest, subject.size)
    modelpack = None if found is None else subject_of(f"{subject.reference.name}@{found}", tools)
    return _sign_and_attest_all(context, version, subject, modelpack, files=files, key=key)


def _sign_and_attest_all(
    context: Context,
    version: str | None,
    image: Subject,
    modelpack: Subject | None,
    *,
    files: Sequence[ModelFile],
    key: Signer,
) -> tuple[SignResult, AttestResult]:
    """The image and its ModelPack artifact each signed and attested; each one's signature
    and attestations listed among its referrers in one write of its fallback index."""
    from mlops_ci.app.attestations import candidate_statements, write_attestations

    results = []
    for target in (image, modelpack):
        if target is None:
            continue
        signed, signature = write_signature(target, key)
        statements = candidate_statements(context, version, target, files)
        attested, attestations = write_attestations(target, statements, key)
        list_referrers(target, [signature, attestations])
        results.append((signed, attested))
    return results[0]


@dataclass(frozen=True)
class Trust:
    """release.image.signing: the key promote and publish check an image with before they
    tag it as a release, and the private key to sign it with when the environment has it."""

    public_key: SignatureChecker
    signer: Signer | None = None

    def configured_signer(self) -> Signer | None:
        """The private key, once it is known to be the public key's: a signature another
        key made would only be refused later, after it was written."""
        if self.signer is None:
            return None
        probe = b"mlops-ci: is this the configured key?"
        if not self.public_key.verifies(probe, self.signer.sign(probe)):
            raise UsageError(
                "the signing key in the environment (MLOPS_CI_SIGNING_KEY or "
                "MLOPS_CI_SIGNING_KEY_FILE) is not the private key of release.image.signing's "
                "public_key; set the key whose public half that file holds"
            )
        return self.signer


def ensure_trusted(
    context: Context, version: str, digest: str, tools: ImageTools, trust: Trust
) -> VerifyResult:
    """The candidate's image (``digest`` in release.image.repository) signed and attested
    first when a private key is given (a re-run adds nothing), then checked as an admission
    policy would: a signature of the key and a gates attestation that says passed."""
    from mlops_ci.app.attestations import NotAttested, verify_gates
    from mlops_ci.app.image import image_settings

    repository = image_settings(context).repository
    subject = subject_of(f"{parse_reference(repository).name}@{digest}", tools)
    signer = trust.configured_signer()
    if signer is not None:
        _sign_and_attest(context, version, subject, tools, signer)
    try:
        verified = verify_subject(subject, trust.public_key)
        verify_gates(subject, trust.public_key)
    except (NotSigned, NotAttested) as refused:
        raise type(refused)(
            f"{refused}. Nothing was tagged: release.image.signing asks for a signed image "
            "that passed its gates; sign and attest it with `mlops-ci image sign` after the "
            "push (MLOPS_CI_SIGNING_KEY), or set that key where this runs"
        ) from None
    return verified


def verify_trusted(
    text: str, tools: ImageTools, key: SignatureChecker, *, gates: bool
) -> tuple[VerifyResult, Attested | None]:
    """The image's signature of this key and, with ``gates``, its gates attestation that
    says every gate passed: what an admission policy asks."""
    from mlops_ci.app.attestations import verify_gates

    subject = subject_of(text, tools)
    verified = verify_subject(subject, key)
    return verified, verify_gates(subject, key) if gates else None
