"""DSSE envelopes and in-toto statements as values: the spec's encoding, and hostile
documents read as nothing rather than as a crash."""

from __future__ import annotations

import base64
import json

from mlops_ci.core.attestation import (
    GATES,
    Material,
    attestation_layers,
    attestation_tag,
    envelope,
    gates_passed,
    pre_authentication,
    provenance,
    read_envelope,
    statement,
    statement_problem,
)

DIGEST = "sha256:" + "ab" * 32
NAME = "registry.example/acme/model"


def test_the_pre_authentication_encoding_is_the_dsse_specs() -> None:
    # The example in DSSE's protocol document.
    assert (
        pre_authentication("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert attestation_tag(DIGEST) == f"sha256-{'ab' * 32}.att"


def test_an_envelope_reads_back_and_junk_reads_as_none() -> None:
    made = statement(NAME, DIGEST, GATES, {"result": "passed"})
    sealed = read_envelope(envelope(made, b"sig"))
    assert sealed is not None
    assert (sealed.payload, sealed.signatures) == (made, (b"sig",))
    assert sealed.signed == pre_authentication("application/vnd.in-toto+json", made)
    other_type = json.loads(envelope(made, b"sig"))
    other_type["payloadType"] = "text/plain"
    not_base64 = json.loads(envelope(made, b"sig"))
    not_base64["payload"] = "!!"
    for junk in (
        b"",
        b"[]",
        b"{}",
        json.dumps(other_type).encode(),
        json.dumps(not_base64).encode(),
    ):
        assert read_envelope(junk) is None


def test_a_statement_speaks_of_its_image_alone() -> None:
    made = statement(NAME, DIGEST, GATES, {"result": "passed"})
    found, problem = statement_problem(made, NAME, DIGEST)
    assert problem is None
    assert found is not None
    assert (found.predicate_type, dict(found.predicate)) == (GATES, {"result": "passed"})
    assert statement_problem(made, NAME, "sha256:" + "cd" * 32)[1] == "it speaks of another image"
    assert "another repository" in str(statement_problem(made, "evil.example/x", DIGEST)[1])
    wrong_type = json.loads(made)
    wrong_type["_type"] = "x"
    assert "of type" in str(statement_problem(json.dumps(wrong_type).encode(), NAME, DIGEST)[1])
    for junk in (
        b"",
        b"\xff",
        b"{}",
        b'{"_type": 1, "subject": 2, "predicateType": 3, "predicate": 4}',
    ):
        assert statement_problem(junk, NAME, DIGEST) == (
            None,
            "its payload is not an in-toto statement",
        )


def test_gates_admit_only_when_the_result_is_passed() -> None:
    assert gates_passed({"result": "passed", "stages": []}) is None
    refused = gates_passed(
        {"result": "failed", "stages": [{"stage": "test", "verdict": "failed"}, "junk"]}
    )
    assert refused == "its gates say 'failed' (test did not pass)"
    assert "no stage" in str(gates_passed({}))


def test_provenance_is_slsa_v1_shaped() -> None:
    made = provenance(
        builder="https://github.com/acme/models/actions",
        workflow={"ref": "refs/heads/main"},
        materials=[Material("git+https://github.com/acme/models", {"gitCommit": "a" * 40})],
        invocation=None,
        started="2026-01-01T00:00:00+00:00",
        finished=None,
        parameters={"model": "churn"},
    )
    assert set(made) == {"buildDefinition", "runDetails"}
    assert made["buildDefinition"]["externalParameters"] == {
        "workflow": {"ref": "refs/heads/main"},
        "model": "churn",
    }
    assert made["runDetails"]["metadata"] == {"startedOn": "2026-01-01T00:00:00+00:00"}


def test_hostile_attestation_manifests_give_no_layers() -> None:
    good = {
        "mediaType": "application/vnd.dsse.envelope.v1+json",
        "digest": DIGEST,
        "size": 3,
        "annotations": {"predicateType": GATES},
    }
    no_type = {**good, "annotations": {}}
    no_size = {k: v for k, v in good.items() if k != "size"}
    body = json.dumps({"layers": [good, no_type, no_size, 1, None]}).encode()
    assert attestation_layers(body) == [good]
    for junk in (b"", b"null", b'{"layers": 3}', base64.b64encode(b"x")):
        assert attestation_layers(junk) == []
