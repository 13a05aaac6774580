"""image sign attests the candidate (SLSA provenance, gates, ML-BOM) beside its image in a
real registry; the statements are read back with plain HTTP and checked with the DSSE spec,
the `cryptography` package and CycloneDX's own validator rather than with our reader."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mlops_ci.core.oci import OCI_MANIFEST
from tests.conftest import ENVIRON, CliRunner, commit
from tests.image.conftest import use_image
from tests.image.test_signing import _key_pair
from tests.services import RegistryServer, busybox_layout, skopeo

ON_GITHUB = {
    "GITHUB_ACTIONS": "true",
    "MLOPS_CI_PUSH": "false",
    "GITHUB_REPOSITORY": "acme/models",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/model.yml@refs/heads/main",
}


def _get(registry: RegistryServer, repository: str, what: str, accept: str = "") -> bytes:
    request = urllib.request.Request(
        f"http://{registry.host}/v2/{repository}/{what}",
        headers={"Accept": accept} if accept else {},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return bytes(answer.read())


def _statements(
    registry: RegistryServer, repository: str, digest: str, public: Path
) -> dict[str, dict[str, Any]]:
    """The statements beside the image whose DSSE signature the key's `cryptography`
    object accepts over the spec's pre-authentication encoding: by predicate type."""
    key = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    manifest = json.loads(
        _get(
            registry,
            repository,
            f"manifests/sha256-{digest[7:]}.att",
            "application/vnd.oci.image.manifest.v1+json",
        )
    )
    assert manifest["subject"]["digest"] == digest
    found = {}
    for layer in manifest["layers"]:
        assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
        envelope = json.loads(_get(registry, repository, f"blobs/{layer['digest']}"))
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        signed = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
        try:
            key.verify(
                base64.b64decode(envelope["signatures"][0]["sig"]),
                signed,
                ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            continue
        made = json.loads(payload)
        assert layer["annotations"]["predicateType"] == made["predicateType"]
        found[made["predicateType"]] = made
    return found


@pytest.mark.slow
def test_the_candidate_is_attested_and_verify_admits_only_what_passed_its_gates(
    example_copy: Path, registry: RegistryServer, base_image: str, cli: CliRunner, tmp_path: Path
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    repository = "acme/attested-model"
    use_image(example_copy, f"{registry.host}/{repository}", base_image)
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    ran = cli("run", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert ran.status == 0, ran.err + ran.out
    assert cli("image", "build", "-f", manifest).status == 0
    pushed = cli("image", "push", "-f", manifest, "--json")
    assert pushed.status == 0, pushed.err
    digest = json.loads(pushed.out)["digest"]
    private, public = _key_pair(tmp_path, "release")
    signing = {**ENVIRON, **ON_GITHUB, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}

    signed = cli("image", "sign", "-f", manifest, "--json", environ=signing)
    assert signed.status == 0, signed.err
    result = json.loads(signed.out)
    assert result["digest"] == digest
    assert result["attestation_tag"] == f"sha256-{digest[7:]}.att"
    assert sorted(result["attested"]) == [
        "https://cyclonedx.org/bom",
        "https://mlops-ci.dev/attestation/gates/v1",
        "https://slsa.dev/provenance/v1",
    ]
    again = cli("image", "sign", "-f", manifest, "--json", environ=signing)
    assert again.status == 0, again.err
    assert (json.loads(again.out)["attested"], len(json.loads(again.out)["attested_before"])) == (
        [],
        3,
    )  # the same facts: nothing new, no second layer

    made = _statements(registry, repository, digest, public)
    assert len(made) == 3
    for statement in made.values():
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["subject"] == [
            {"name": f"{registry.host}/{repository}", "digest": {"sha256": digest[7:]}}
        ]
    head = subprocess.run(  # the commit the candidate was built from
        ["git", "-C", str(example_copy), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    build = made["https://slsa.dev/provenance/v1"]["predicate"]["buildDefinition"]
    dependencies = build["resolvedDependencies"]
    assert dependencies[0] == {
        "uri": "git+https://github.com/acme/models",
        "digest": {"gitCommit": head},
    }
    assert [d["name"] for d in dependencies[1:]] == ["train", "holdout"]
    assert len(dependencies[1]["digest"]["blake3"]) == 64
    assert build["externalParameters"]["workflow"]["ref"] == "refs/heads/main"
    run_details = made["https://slsa.dev/provenance/v1"]["predicate"]["runDetails"]
    assert run_details["metadata"]["invocationId"].endswith("/actions/runs/4242/attempts/1")

    gates = made["https://mlops-ci.dev/attestation/gates/v1"]["predicate"]
    assert (gates["result"], gates["commit"]) == ("passed", head)
    assert [s["stage"] for s in gates["stages"]] == ["ingest", "test", "validate"]
    test_gates = next(s for s in gates["stages"] if s["stage"] == "test")["gates"]
    assert test_gates
    assert all({"name", "threshold", "value", "verdict"} <= set(g) for g in test_gates)

    bom = made["https://cyclonedx.org/bom"]["predicate"]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    inspected = json.loads(
        cli(
            "image", "inspect", "-f", manifest, "--json", f"{registry.host}/{repository}@{digest}"
        ).out
    )
    shipped = {f["path"]: f["sha256"] for f in inspected["model"]["files"]}
    in_bom = {
        c["name"]: c["hashes"][0]["content"] for c in bom["components"] if c["type"] == "file"
    }
    assert in_bom == shipped
    assert shipped
    assert bom["metadata"]["component"]["type"] == "machine-learning-model"
    assert bom["metadata"]["component"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]

    # Both attachments are referrers of the image (the registry has no referrers API), beside
    # the ModelPack artifact the push wrote.
    index = json.loads(
        _get(registry, repository, f"manifests/sha256-{digest[7:]}",
             "application/vnd.oci.image.index.v1+json")
    )  # fmt: skip
    assert sorted(entry["artifactType"] for entry in index["manifests"]) == [
        "application/vnd.cncf.model.manifest.v1+json",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.dsse.envelope.v1+json",
    ]

    verified = cli("image", "verify", "-f", manifest, "--key", str(public), "--json")
    assert verified.status == 0, verified.err
    assert json.loads(verified.out)["gates"]["result"] == "passed"
    # The ModelPack artifact (what an image volume mounts) is signed and attested alike.
    modelpack = json.loads(pushed.out)["modelpack"].rpartition("@")[2]
    artifact = f"{registry.host}/{repository}@{modelpack}"
    packed = cli("image", "verify", artifact, "--key", str(public), "--json")
    assert packed.status == 0, packed.err
    assert json.loads(packed.out)["gates"]["result"] == "passed"

    # A tampered statement: the gates envelope's payload changed, its signature kept.
    att = json.loads(
        _get(registry, repository, f"manifests/sha256-{digest[7:]}.att",
             "application/vnd.oci.image.manifest.v1+json")
    )  # fmt: skip
    _tamper(registry, repository, digest, att)
    tampered = cli("image", "verify", "-f", manifest, "--key", str(public))
    assert tampered.status == 1
    assert "has no gates attestation of this key" in tampered.err
    assert "an attestation another key made (or bytes changed since)" in tampered.err
    assert "Traceback" not in tampered.err

    # The attestations of this image put beside another image: they speak of another one.
    other = f"{registry.host}/{repository}:other"
    copied = skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{busybox_layout(tmp_path / 'o')}:test",
        f"docker://{other}",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert cli("image", "sign", other, environ=signing).status == 0
    other_digest = json.loads(cli("image", "inspect", "-f", manifest, "--json", other).out)[
        "digest"
    ]
    moved = skopeo(
        "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{registry.host}/{repository}:sha256-{digest[7:]}.att",
        f"docker://{registry.host}/{repository}:sha256-{other_digest[7:]}.att",
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    elsewhere = cli("image", "verify", other, "--key", str(public))
    assert elsewhere.status == 1
    assert "speaks of another image" in elsewhere.err
    unattested = cli(
        "image", "verify", f"{registry.host}/library/busybox:test", "--key", str(public)
    )
    assert unattested.status == 1


def _tamper(registry: RegistryServer, repository: str, digest: str, att: dict[str, Any]) -> None:
    """Pushes the .att manifest again with the gates envelope's payload changed (the
    commit it names), its signature kept, by HTTP as any client could."""
    for layer in att["layers"]:
        if layer["annotations"]["predicateType"] != "https://mlops-ci.dev/attestation/gates/v1":
            continue
        envelope = json.loads(_get(registry, repository, f"blobs/{layer['digest']}"))
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["commit"] = "0" * 40
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        blob = json.dumps(envelope).encode()
        layer["digest"] = "sha256:" + hashlib.sha256(blob).hexdigest()
        layer["size"] = len(blob)
        _upload(registry, repository, layer["digest"], blob)
    _send(registry, "PUT", f"/v2/{repository}/manifests/sha256-{digest[7:]}.att",
          json.dumps(att).encode(), "application/vnd.oci.image.manifest.v1+json")  # fmt: skip


def _upload(registry: RegistryServer, repository: str, digest: str, blob: bytes) -> None:
    start = urllib.request.Request(
        f"http://{registry.host}/v2/{repository}/blobs/uploads/", data=b"", method="POST"
    )
    with urllib.request.urlopen(start, timeout=10) as answer:  # noqa: S310
        location = answer.headers["Location"]
    if location.startswith("/"):
        location = f"http://{registry.host}{location}"
    separator = "&" if "?" in location else "?"
    _send(
        registry, "PUT", f"{location}{separator}digest={digest}", blob, "application/octet-stream"
    )


def _send(registry: RegistryServer, method: str, path: str, body: bytes, kind: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own registry on 127.0.0.1
        path if path.startswith("http") else f"http://{registry.host}{path}",
        data=body, method=method,
        headers={"Content-Type": kind},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status in (201, 202), answer.status


def _signed_candidate_built(
    example: Path, image: str, base_image: str, cli: CliRunner, folder: Path
) -> tuple[Path, Path, str, str]:
    """The example with release.image.signing (the public key committed), its candidate
    run and its image built: (private key, public key, manifest, candidate)."""
    private, public = _key_pair(folder, "release")
    (example / "cosign.pub").write_bytes(public.read_bytes())
    use_image(example, image, base_image, signing="{public_key: cosign.pub}")
    commit(example, "feat: the churn model")
    manifest = str(example / "mlops.yaml")
    ran = cli("run", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
    assert ran.status == 0, ran.err + ran.out
    assert cli("image", "build", "-f", manifest).status == 0
    return private, public, manifest, str(json.loads(ran.out)["stages"][0]["version"])


@pytest.mark.slow
def test_promote_with_signing_configured_tags_only_what_is_signed_and_passed(
    example_copy: Path, registry: RegistryServer, base_image: str, cli: CliRunner, tmp_path: Path
) -> None:
    repository = "acme/trusted-model"
    private, public, manifest, candidate = _signed_candidate_built(
        example_copy, f"{registry.host}/{repository}", base_image, cli, tmp_path
    )
    assert cli("image", "push", "-f", manifest).status == 0
    promote = ("image", "promote", "-f", manifest, "--version", candidate, "--to", "1.44.0")

    refused = cli(*promote, environ=ENVIRON)
    assert refused.status == 1
    assert "is not signed" in refused.err
    assert "Nothing was tagged" in refused.err
    assert "Traceback" not in refused.err
    tags = json.loads(_get(registry, repository, "tags/list"))["tags"]
    assert "1.44.0" not in tags

    _, stranger = _key_pair(tmp_path, "stranger")
    wrong = cli(*promote, environ={**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(stranger)})
    assert wrong.status == 2  # not a private key at all
    other, _ = _key_pair(tmp_path, "other")
    wrong = cli(*promote, environ={**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(other)})
    assert wrong.status == 2
    assert "not the private key of release.image.signing" in wrong.err

    # With the key where promote runs, it signs and attests first, then tags.
    signing = {**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}
    promoted = cli(*promote, "--json", environ=signing)
    assert promoted.status == 0, promoted.err
    assert "1.44.0" in json.loads(promoted.out)["written"]
    key_text = private.read_text()
    body = next(line for line in key_text.splitlines() if "-----" not in line)
    assert body not in promoted.out + promoted.err
    digest = json.loads(promoted.out)["digest"]
    made = _statements(registry, repository, digest, public)
    assert len(made) == 3

    # The admission policy deploy init writes admits this image by its real gates statement.
    from tests.deploy.test_policy import admits

    assert cli("deploy", "init", "-f", manifest, "--target", "kubernetes").status == 0
    policy = yaml.safe_load(next((example_copy / "deploy").rglob("*-admission.yaml")).read_text())
    gates = made["https://mlops-ci.dev/attestation/gates/v1"]["predicate"]
    assert admits(policy, f"{registry.host}/{repository}:1.44.0@{digest}", gates)
    assert not admits(policy, f"{registry.host}/{repository}@{digest}", {**gates, "result": "no"})

    # Elsewhere, with only the public key: the check passes and nothing more is written.
    again = cli(*promote, "--environment", "production", "--json", environ=ENVIRON)
    assert again.status == 0, again.err
    assert json.loads(again.out)["written"] == ["production", "production.modelpack"]


@pytest.mark.slow
def test_a_push_with_signing_configured_and_the_key_at_hand_is_signed_and_attested(
    example_copy: Path, registry: RegistryServer, base_image: str, cli: CliRunner, tmp_path: Path
) -> None:
    repository = "acme/signed-on-push"
    private, public, manifest, _ = _signed_candidate_built(
        example_copy, f"{registry.host}/{repository}", base_image, cli, tmp_path
    )
    other, _ = _key_pair(tmp_path, "other")
    wrong = cli(
        "image",
        "push",
        "-f",
        manifest,
        environ={**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(other)},
    )
    assert wrong.status == 2
    assert "not the private key of release.image.signing" in wrong.err
    with pytest.raises(urllib.error.HTTPError, match="404"):  # nothing was pushed
        _get(registry, repository, "tags/list")

    signing = {**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}
    pushed = cli("image", "push", "-f", manifest, "--json", environ=signing)
    assert pushed.status == 0, pushed.err
    result = json.loads(pushed.out)
    assert result["signature_tag"] == f"sha256-{result['digest'][7:]}.sig"
    assert len(result["attested"]) == 3
    verified = cli("image", "verify", "-f", manifest, "--key", str(public))
    assert verified.status == 0, verified.err

    # The push signed what `image sign` would have: the same statements of the image and of
    # its ModelPack artifact, so signing again afterwards adds nothing to either.
    modelpack = result["modelpack"].rsplit("@", 1)[1]
    attached = [
        f"manifests/sha256-{digest[7:]}.{kind}"
        for digest in (result["digest"], modelpack)
        for kind in ("sig", "att")
    ]
    before = [_get(registry, repository, what, OCI_MANIFEST) for what in attached]
    again = cli("image", "sign", "-f", manifest, "--json", environ=signing)
    assert again.status == 0, again.err
    said = json.loads(again.out)
    assert (said["added"], said["attested"], len(said["attested_before"])) == (False, [], 3)
    assert [_get(registry, repository, what, OCI_MANIFEST) for what in attached] == before
