"""Attestations and the referrers list in a registry double: a gates statement that says a
gate failed is refused, a re-run adds nothing, and a registry with the referrers API gets
no fallback index."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mlops_ci.adapters.signing_key import SigningKey
from mlops_ci.app.attachments import Subject, list_referrers, referrers
from mlops_ci.app.attestations import (
    NotAttested,
    attest_subject,
    verify_gates,
    write_attestations,
)
from mlops_ci.app.signing import sign_subject, write_signature
from mlops_ci.core.attestation import GATES, SLSA_PROVENANCE, statement
from mlops_ci.core.image_reference import parse_reference
from mlops_ci.core.oci import OCI_MANIFEST
from tests.doubles.hosts import MemoryRegistry

IMAGE = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'


def _subject(registry: MemoryRegistry) -> Subject:
    digest = registry.add_image("acme/model", "1.0.0", IMAGE, OCI_MANIFEST)
    reference = parse_reference(f"{registry.registry}/acme/model@{digest}")
    return Subject(reference, registry, digest, OCI_MANIFEST, len(IMAGE))


def _gates(subject: Subject, result: str, verdict: str) -> tuple[str, bytes]:
    predicate = {"result": result, "stages": [{"stage": "test", "verdict": verdict}]}
    return GATES, statement(subject.reference.name, subject.digest, GATES, predicate)


def test_gates_that_failed_are_refused_and_those_that_passed_admitted() -> None:
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    passed_registry, failed_registry = MemoryRegistry(), MemoryRegistry()
    passed, failed = _subject(passed_registry), _subject(failed_registry)
    attest_subject(passed, [_gates(passed, "passed", "passed")], key)
    attest_subject(failed, [_gates(failed, "failed", "failed")], key)
    assert verify_gates(passed, key.public).predicate["result"] == "passed"
    with pytest.raises(NotAttested, match=r"did not pass its gates: .*test did not pass"):
        verify_gates(failed, key.public)
    other = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(NotAttested, match="an attestation another key made"):
        verify_gates(passed, other.public)


def test_a_rerun_adds_nothing_and_new_facts_add_a_layer_listed_once() -> None:
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    registry = MemoryRegistry()
    subject = _subject(registry)
    provenance = (
        SLSA_PROVENANCE,
        statement(subject.reference.name, subject.digest, SLSA_PROVENANCE, {"a": 1}),
    )
    first = attest_subject(subject, [provenance, _gates(subject, "passed", "passed")], key)
    assert sorted(first.added) == [GATES, SLSA_PROVENANCE]
    again = attest_subject(subject, [provenance, _gates(subject, "passed", "passed")], key)
    assert (again.added, sorted(again.kept)) == ((), [GATES, SLSA_PROVENANCE])
    newer = attest_subject(subject, [_gates(subject, "failed", "failed")], key)
    assert newer.added == (GATES,)
    with pytest.raises(NotAttested, match="did not pass"):  # the newest gates statement
        verify_gates(subject, key.public)
    att = registry.manifests[("acme/model", first.attestation_tag)][0]
    assert len(json.loads(att)["layers"]) == 3
    sign_subject(subject, key)
    sign_subject(subject, SigningKey(ec.generate_private_key(ec.SECP256R1())))
    listed = referrers(subject)
    # One .att and one .sig, the newest of each: earlier versions were replaced.
    assert len(listed) == 2
    assert {entry["digest"] for entry in listed} == {
        registry.manifest_digest("acme/model", first.attestation_tag),
        registry.manifest_digest("acme/model", f"sha256-{subject.digest[7:]}.sig"),
    }


def test_a_registry_with_the_referrers_api_gets_no_fallback_index() -> None:
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    registry = MemoryRegistry(referrers_api=True)
    subject = _subject(registry)
    sign_subject(subject, key)
    attest_subject(subject, [_gates(subject, "passed", "passed")], key)
    assert registry.manifest_digest("acme/model", f"sha256-{subject.digest[7:]}") is None
    assert len(referrers(subject)) == 2  # what the registry's own API lists


def test_a_rerun_lists_what_a_stop_half_way_left_unlisted() -> None:
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    registry = MemoryRegistry()
    subject = _subject(registry)
    signed = sign_subject(subject, key)
    fallback = ("acme/model", f"sha256-{subject.digest[7:]}")
    del registry.manifests[fallback]  # stopped after the .sig, before the index
    again = sign_subject(subject, key)
    assert not again.added
    assert [entry["digest"] for entry in referrers(subject)] == [
        registry.manifest_digest("acme/model", signed.signature_tag)
    ]


def test_a_signature_and_its_attestations_are_listed_in_one_write_of_the_index() -> None:
    class CountingRegistry(MemoryRegistry):
        index_writes = 0

        def put_manifest(self, repository: str, reference: str, body: bytes, kind: str) -> str:
            if reference.startswith("sha256-") and "." not in reference:  # the fallback index
                CountingRegistry.index_writes += 1
            return super().put_manifest(repository, reference, body, kind)

    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    registry = CountingRegistry()
    subject = _subject(registry)
    _, signature = write_signature(subject, key)
    _, attestations = write_attestations(subject, [_gates(subject, "passed", "passed")], key)
    list_referrers(subject, [signature, attestations])
    assert CountingRegistry.index_writes == 1
    assert len(referrers(subject)) == 2
    list_referrers(subject, [signature, attestations])  # listed already: nothing written
    assert CountingRegistry.index_writes == 1
