"""image sign and image verify against a real registry, and the signatures held to an
outside verifier: skopeo (containers/image) with a policy that requires sigstoreSigned."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ENVIRON, CliRunner
from tests.services import RegistryServer, busybox_layout, require, skopeo


def _key_pair(folder: Path, name: str, password: bytes | None = None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private = folder / f"{name}.key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    public = folder / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _push(registry: RegistryServer, layout: Path, repository: str) -> tuple[str, str]:
    reference = f"{registry.host}/{repository}:1"
    copied = skopeo(
        "copy", "--dest-tls-verify=false", "--preserve-digests",
        f"oci:{layout}:test", f"docker://{reference}",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{reference}")
    return reference, json.loads(inspected.stdout)["Digest"]


def _openssl_verifies(
    registry: RegistryServer, reference: str, tag: str, public: Path, folder: Path
) -> list[dict[str, object]]:
    """Each signature beside the image checked by openssl (another ECDSA implementation
    than ours), read from the registry with plain HTTP as any client would: the payloads
    whose signature openssl accepts."""
    import base64
    import urllib.request

    repository = reference.split("/", 1)[1].rsplit(":", 1)[0]
    base = f"http://{registry.host}/v2/{repository}"  # our own registry on 127.0.0.1
    request = urllib.request.Request(  # noqa: S310 - our own registry on 127.0.0.1
        f"{base}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - 127.0.0.1
        manifest = json.load(answer)
    accepted = []
    for index, layer in enumerate(manifest["layers"]):
        assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        with urllib.request.urlopen(f"{base}/blobs/{layer['digest']}", timeout=30) as answer:  # noqa: S310
            data = answer.read()
        payload, signature = folder / f"payload-{index}", folder / f"signature-{index}"
        payload.write_bytes(data)
        signature.write_bytes(
            base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        )
        checked = subprocess.run(
            [require("openssl", "openssl"), "dgst", "-sha256", "-verify", str(public),
             "-signature", str(signature), str(payload)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if checked.returncode == 0 and "Verified OK" in checked.stdout:
            accepted.append(json.loads(data))
    return accepted


def _skopeo_pull(
    registry: RegistryServer, reference: str, public: Path, folder: Path
) -> subprocess.CompletedProcess[str]:
    """skopeo copy under a policy that admits only images signed with ``public``, with the
    registry's sigstore attachments turned on."""
    policy = folder / "policy.json"
    rule = {
        "type": "sigstoreSigned",
        "keyPath": str(public),
        "signedIdentity": {"type": "matchRepository"},
    }
    policy.write_text(
        json.dumps(
            {
                "default": [{"type": "reject"}],
                "transports": {
                    "docker": {registry.host: [rule]},
                    "oci": {"": [{"type": "insecureAcceptAnything"}]},
                },
            }
        )
    )
    registries = folder / "registries.d"
    registries.mkdir(exist_ok=True)
    (registries / "test.yaml").write_text(
        f"docker:\n  {registry.host}:\n    use-sigstore-attachments: true\n"
    )
    return subprocess.run(
        [require("skopeo", "skopeo"), "--policy", str(policy), "--registries.d",
         str(registries), "copy", "--src-tls-verify=false", f"docker://{reference}",
         f"oci:{folder / 'pulled'}:x"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture
def images(registry: RegistryServer, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Two images of other digests, pushed by skopeo: (reference, digest) each."""
    name = tmp_path.name[-12:].lower().replace("_", "-").strip("-")
    return {
        "signed": _push(registry, busybox_layout(tmp_path / "a"), f"signing/{name}-a"),
        "unsigned": _push(
            registry, busybox_layout(tmp_path / "b", gzip_mtime=7), f"signing/{name}-b"
        ),
    }


@pytest.mark.slow
def test_a_signature_verifies_for_its_digest_alone(
    cli: CliRunner, registry: RegistryServer, images: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    private, public = _key_pair(tmp_path, "release")
    _, other_public = _key_pair(tmp_path, "other")
    signing = {**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}
    signed, digest = images["signed"]

    done = cli("image", "sign", signed, "--json", environ=signing)
    assert done.status == 0, done.err
    result = json.loads(done.out)
    assert (result["digest"], result["added"]) == (digest, True)
    assert result["signature_tag"] == f"sha256-{digest[7:]}.sig"
    again = cli("image", "sign", signed, "--json", environ=signing)
    assert again.status == 0, again.err
    assert json.loads(again.out)["added"] is False  # a re-run adds no second signature
    attached = skopeo(
        "inspect", "--raw", "--tls-verify=false",
        f"docker://{signed.rsplit(':', 1)[0]}:{result['signature_tag']}",
    )  # fmt: skip
    assert len(json.loads(attached.stdout)["layers"]) == 1
    # The signature is an OCI referrer of the image: distribution 2.8 has no referrers API,
    # so it is listed in the referrers tag schema's index, once, however often it is signed.
    listed = skopeo(
        "inspect", "--raw", "--tls-verify=false",
        f"docker://{signed.rsplit(':', 1)[0]}:sha256-{digest[7:]}",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (referrer,) = json.loads(listed.stdout)["manifests"]
    assert referrer["artifactType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    sig_digest = skopeo(
        "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
        f"docker://{signed.rsplit(':', 1)[0]}:{result['signature_tag']}",
    )  # fmt: skip
    assert referrer["digest"] == sig_digest.stdout.strip()

    # Our own verify, and the outside one.
    verified = cli(
        "image", "verify", signed, "--key", str(public), "--signature-only", environ=ENVIRON
    )
    assert verified.status == 0, verified.err
    assert "is signed with this key" in verified.out
    (vouched,) = _openssl_verifies(registry, signed, result["signature_tag"], public, tmp_path)
    assert vouched["critical"] == {  # type: ignore[comparison-overlap]
        "identity": {"docker-reference": signed.rsplit(":", 1)[0]},
        "image": {"docker-manifest-digest": digest},
        "type": "cosign container image signature",
    }

    wrong_key = cli(
        "image", "verify", signed, "--key", str(other_public), "--signature-only", environ=ENVIRON
    )
    assert wrong_key.status == 1
    assert "another key" in wrong_key.err
    assert (
        _openssl_verifies(registry, signed, result["signature_tag"], other_public, tmp_path) == []
    )

    unsigned, unsigned_digest = images["unsigned"]
    refused = cli(
        "image", "verify", unsigned, "--key", str(public), "--signature-only", environ=ENVIRON
    )
    assert refused.status == 1
    assert "is not signed" in refused.err

    # The signed image's signature put beside the other image: it names another digest.
    moved = skopeo(
        "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{signed.rsplit(':', 1)[0]}:{result['signature_tag']}",
        f"docker://{unsigned.rsplit(':', 1)[0]}:sha256-{unsigned_digest[7:]}.sig",
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    retagged = cli(
        "image", "verify", unsigned, "--key", str(public), "--signature-only", environ=ENVIRON
    )
    assert retagged.status == 1
    assert "signs another image" in retagged.err
    # The signature itself is sound (openssl accepts it): only its payload says no.
    assert _openssl_verifies(
        registry, unsigned, f"sha256-{unsigned_digest[7:]}.sig", public, tmp_path
    )


def test_skopeo_admits_the_signed_image_wherever_it_can_verify(
    cli: CliRunner, registry: RegistryServer, images: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    """containers/image's sigstoreSigned policy, as CRI-O and podman apply it. Debian 12's
    skopeo is built with sigstore disabled ("Debian-local change") and refuses every image
    under such a policy; there the refusal must be that one, and the signatures are held to
    openssl above. Where skopeo verifies, it must admit our signature."""
    private, public = _key_pair(tmp_path, "release")
    signed, _ = images["signed"]
    signing = {**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}
    assert cli("image", "sign", signed, environ=signing).status == 0
    pulled = _skopeo_pull(registry, signed, public, tmp_path)
    if "Debian-local change: sigstore disabled" in pulled.stderr:
        return
    assert pulled.returncode == 0, pulled.stderr


def test_keys_are_bad_input_said_in_one_sentence_without_the_key(
    cli: CliRunner, images: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    private, public = _key_pair(tmp_path, "locked", password=b"hunter2-but-longer")
    secret_lines = [
        line for line in private.read_text().splitlines() if "-----" not in line and line
    ]
    signed, _ = images["signed"]
    missing = cli("image", "sign", signed, environ=ENVIRON)
    assert missing.status == 2
    assert "MLOPS_CI_SIGNING_KEY" in missing.err
    locked = {**ENVIRON, "MLOPS_CI_SIGNING_KEY_FILE": str(private)}
    no_password = cli("image", "sign", signed, environ=locked)
    assert no_password.status == 2
    assert "MLOPS_CI_SIGNING_KEY_PASSWORD" in no_password.err
    wrong = cli(
        "image", "sign", signed,
        environ={**locked, "MLOPS_CI_SIGNING_KEY_PASSWORD": "not-it"},
    )  # fmt: skip
    assert wrong.status == 2
    assert "password is wrong" in wrong.err
    pasted = {**ENVIRON, "MLOPS_CI_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}
    garbage = cli("image", "sign", signed, environ=pasted)
    assert garbage.status == 2
    right = cli(
        "image", "sign", signed, "-v",
        environ={**locked, "MLOPS_CI_SIGNING_KEY_PASSWORD": "hunter2-but-longer"},
    )  # fmt: skip
    assert right.status == 0, right.err
    for run in (missing, no_password, wrong, garbage, right):
        assert "Traceback" not in run.err
        assert "hunter2-but-longer" not in run.out + run.err
        for line in secret_lines:
            assert line not in run.out + run.err
    verified = cli(
        "image", "verify", signed, "--key", str(public), "--signature-only", environ=ENVIRON
    )
    assert verified.status == 0, verified.err
    not_a_key = tmp_path / "not-a-key.pub"
    not_a_key.write_text("hello\n")
    unreadable = cli(
        "image", "verify", signed, "--key", str(not_a_key), "--signature-only", environ=ENVIRON
    )
    assert unreadable.status == 2
    assert "not a PEM public key" in unreadable.err
