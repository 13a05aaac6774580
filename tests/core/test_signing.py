"""The signature layout as values: payloads, their checks, and hostile manifests."""

from __future__ import annotations

import json

from mlops_ci.core.signing import (
    PAYLOAD_TYPE,
    SIGNATURE_ANNOTATION,
    attachment_tag,
    layer_signature,
    payload,
    payload_problem,
    sha256_digest,
    signature_layers,
    signature_manifest,
)

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
REPOSITORY = "registry.example/acme/churn"


def test_the_payload_names_the_digest_and_the_repository() -> None:
    data = payload(REPOSITORY, DIGEST)
    assert json.loads(data) == {
        "critical": {
            "identity": {"docker-reference": REPOSITORY},
            "image": {"docker-manifest-digest": DIGEST},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    assert payload_problem(data, REPOSITORY, DIGEST) is None
    assert attachment_tag(DIGEST) == f"sha256-{'ab' * 32}.sig"


def test_a_payload_for_another_image_or_repository_or_of_another_kind_vouches_for_nothing() -> None:
    assert "another image" in str(payload_problem(payload(REPOSITORY, OTHER), REPOSITORY, DIGEST))
    assert "another repository" in str(
        payload_problem(payload("evil.example/x", DIGEST), REPOSITORY, DIGEST)
    )
    kind = json.loads(payload(REPOSITORY, DIGEST))
    kind["critical"]["type"] = "x" * 500
    assert "of type" in str(payload_problem(json.dumps(kind).encode(), REPOSITORY, DIGEST))
    for junk in (b"", b"[]", b"{}", b'{"critical": 1}', b"\xff"):
        assert "not a simple-signing document" in str(payload_problem(junk, REPOSITORY, DIGEST))


def test_a_signature_is_added_and_none_is_dropped() -> None:
    subject = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": DIGEST,
        "size": 9,
    }
    first, config = signature_manifest([], b"payload-1", b"sig-1", subject)
    layers = signature_layers(first)
    assert [layer["digest"] for layer in layers] == [sha256_digest(b"payload-1")]
    assert layer_signature(layers[0]) == b"sig-1"
    second, _ = signature_manifest(layers, b"payload-2", b"sig-2", subject)
    assert [layer_signature(layer) for layer in signature_layers(second)] == [b"sig-1", b"sig-2"]
    assert json.loads(first)["config"]["digest"] == sha256_digest(config)
    assert json.loads(second)["subject"] == subject  # an OCI referrer of the image
    assert json.loads(second)["artifactType"] == PAYLOAD_TYPE


def test_hostile_manifests_give_no_layers_and_bad_annotations_no_signature() -> None:
    for body in (b"", b"null", b'{"layers": 3}', b'{"layers": [1, null, "x"]}'):
        assert signature_layers(body) == []
    wrong_type = {
        "mediaType": "text/plain",
        "digest": "d",
        "annotations": {SIGNATURE_ANNOTATION: "e"},
    }
    no_annotation = {"mediaType": PAYLOAD_TYPE, "digest": "d"}
    body = json.dumps({"layers": [wrong_type, no_annotation]}).encode()
    assert signature_layers(body) == []
    assert layer_signature({"annotations": {SIGNATURE_ANNOTATION: "not base64!"}}) is None
