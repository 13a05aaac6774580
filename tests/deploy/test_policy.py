"""The admission policy `deploy init` writes when the manifest signs its images: a Kyverno
ClusterPolicy with the release key, for the model's repository (the image and its ModelPack
artifact), whose gates condition admits a predicate that passed and no other."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import jmespath
import yaml

from tests.conftest import CliRunner
from tests.deploy.test_kubernetes import REPOSITORY
from tests.image.test_signing import _key_pair

GATES = "https://mlops-ci.dev/attestation/gates/v1"


def _sign_images(example: Path, public: Path) -> Path:
    (example / "cosign.pub").write_bytes(public.read_bytes())
    manifest = example / "mlops.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "    backend: auto\n", "    backend: auto\n    signing: {public_key: cosign.pub}\n"
        )
    )
    return manifest


def _extract(document: Any, path: str, value: str) -> list[Any]:
    """The ``value`` of each object at ``path`` (``*``: every item), as an extractor reads."""
    found = [document]
    for part in path.strip("/").split("/"):
        if part == "*":
            found = [item for holder in found for item in holder]
        else:
            found = [
                holder[part] for holder in found if isinstance(holder, dict) and part in holder
            ]
    return [holder[value] for holder in found if isinstance(holder, dict) and value in holder]


def admits(policy: dict[str, Any], reference: str, predicate: dict[str, Any]) -> bool:
    """What each rule of ``policy`` says of ``reference`` with this gates predicate, read as
    Kyverno reads it: a glob match, then each condition's JMESPath (``{{ … }}``)."""
    for rule in policy["spec"]["rules"]:
        for verify in rule["verifyImages"]:
            if not any(fnmatch.fnmatchcase(reference, p) for p in verify["imageReferences"]):
                continue
            for attestation in verify["attestations"]:
                assert attestation["type"] == GATES
                for condition in attestation["conditions"]:
                    for check in condition["all"]:
                        expression = check["key"].strip().removeprefix("{{").removesuffix("}}")
                        assert check["operator"] == "Equals"
                        if jmespath.search(expression.strip(), predicate) != check["value"]:
                            return False
    return True


def test_a_signing_manifest_gets_an_admission_policy_with_its_key(
    example_copy: Path, cli: CliRunner, tmp_path: Path
) -> None:
    _, public = _key_pair(tmp_path, "release")
    manifest = _sign_images(example_copy, public)
    done = cli(
        "deploy", "init", "-f", str(manifest), "--target", "kubernetes", "--app", "scorer",
        "--pattern", "image-volume",
    )  # fmt: skip
    assert done.status == 0, done.err
    assert "wrote deploy/staging/scorer-admission.yaml" in done.out
    policy_path = example_copy / "deploy" / "staging" / "scorer-admission.yaml"
    policy = yaml.safe_load(policy_path.read_text())
    assert (policy["apiVersion"], policy["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    assert policy["metadata"]["name"] == "scorer-model-admission"
    rules = policy["spec"]["rules"]
    assert [r["name"] for r in rules] == [
        "model-image-signed-and-passed",
        "model-volume-signed-and-passed",
    ]
    # The volume rule finds the image volume's reference in the pod the deploy file makes.
    extractor = rules[1]["imageExtractors"]["Pod"][0]
    deploy = yaml.safe_load_all((example_copy / "deploy" / "staging" / "scorer.yaml").read_text())
    pod = next(d for d in deploy if d["kind"] == "Deployment")["spec"]["template"]
    assert _extract(pod, extractor["path"], extractor["value"]) == [
        f"{REPOSITORY}:1.43.13.modelpack"
    ]
    for rule in rules:
        verify = rule["verifyImages"][0]
        assert verify["failureAction"] == "Enforce"
        assert verify["required"] is True
        for attestors in (verify["attestors"], verify["attestations"][0]["attestors"]):
            keys = attestors[0]["entries"][0]["keys"]
            assert keys["publicKeys"] == public.read_text()
            assert keys["rekor"] == {"ignoreTlog": True}

    pinned = f"{REPOSITORY}:1.44.0.modelpack@sha256:{'c' * 64}"
    passed = {"result": "passed", "stages": [{"stage": "test", "verdict": "passed"}]}
    failed = {"result": "failed", "stages": [{"stage": "test", "verdict": "failed"}]}
    assert admits(policy, pinned, passed)
    assert not admits(policy, pinned, failed)
    assert not admits(policy, pinned, {"stages": []})
    # Another repository's images are not this policy's to judge.
    assert admits(policy, "ghcr.io/acme/churn-model-other:1.0.0", failed)

    again = cli("deploy", "init", "-f", str(manifest), "--target", "kubernetes", "--app", "scorer")
    assert again.status == 2
    assert "exists; pass --force" in again.err


def test_a_missing_or_bad_public_key_is_named(
    example_copy: Path, cli: CliRunner, tmp_path: Path
) -> None:
    _, public = _key_pair(tmp_path, "release")
    manifest = _sign_images(example_copy, public)
    (example_copy / "cosign.pub").write_text("not a key\n")
    bad = cli("deploy", "init", "-f", str(manifest), "--target", "kubernetes")
    assert bad.status == 2
    assert "cosign.pub (release.image.signing.public_key) holds no PEM public key" in bad.err
    (example_copy / "cosign.pub").unlink()
    missing = cli("deploy", "init", "-f", str(manifest), "--target", "kubernetes")
    assert missing.status == 2
    assert "cannot be read" in missing.err
    assert not list((example_copy / "deploy").rglob("*-admission.yaml"))
    nomad = cli("deploy", "init", "-f", str(manifest), "--target", "nomad")
    assert nomad.status == 0, nomad.err  # Nomad has no admission webhooks: no policy
