"""Build and push the example's image to a real registry; other clients read it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mlops_ci.cli import meters
from tests.cli.test_meters import Recorded
from tests.conftest import ENVIRON, CliRunner
from tests.conftest import REGISTRY_USERS as USERS
from tests.image.conftest import use_image
from tests.services import (
    BUSYBOX_APPLETS,
    Fault,
    FaultyProxy,
    RegistryServer,
    TokenServer,
    busybox_layout,
    skopeo,
)


def _manifest(repository: Path) -> str:
    return str(repository / "mlops.yaml")


def test_build_push_and_read_back_with_skopeo(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    use_image(built_candidate, f"{registry.host}/acme/churn-model", base_image)
    built = cli("image", "build", "-f", _manifest(built_candidate), "--json")
    assert built.status == 0, built.err
    summary = json.loads(built.out)
    assert summary["digest"].startswith("sha256:")
    assert summary["layers"] == 3  # busybox, the model files, deploy.sh

    pushed = cli("image", "push", "-f", _manifest(built_candidate), "--json", "-v")
    assert pushed.status == 0, pushed.err
    assert "INFO mlops_ci.image.publish: uploading sha256:" in pushed.err  # -v: every record
    result = json.loads(pushed.out)
    assert result["digest"] == summary["digest"]
    assert result["uploaded"] + result["mounted"] + result["already_there"] == 4
    assert result["mounted"] == 1  # the base layer, linked from library/busybox

    tag = summary["version"]
    inspected = skopeo(
        "inspect", "--tls-verify=false", f"docker://{registry.host}/acme/churn-model:{tag}"
    )
    assert inspected.returncode == 0, inspected.stderr
    described = json.loads(inspected.stdout)
    assert described["Digest"] == summary["digest"]
    assert described["Labels"]["org.opencontainers.image.version"] == tag
    assert len(described["Layers"]) == 3

    copied = skopeo(
        "copy", "--src-tls-verify=false", "--preserve-digests",
        f"docker://{registry.host}/acme/churn-model:{tag}", f"oci:{tmp_path / 'copy'}:x",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr

    remote = cli("image", "inspect", "-f", _manifest(built_candidate), "--json",
                 f"{registry.host}/acme/churn-model:{tag}")  # fmt: skip
    assert remote.status == 0, remote.err
    described_remote = json.loads(remote.out)
    assert described_remote["digest"] == summary["digest"]
    assert described_remote["model"]["version"] == tag
    local = cli("image", "inspect", "-f", _manifest(built_candidate))
    assert local.status == 0, local.err
    assert summary["digest"] in local.out
    assert "model.json" in local.out  # the example's one model file

    again = cli("image", "push", "-f", _manifest(built_candidate), "--json")
    assert again.status == 0, again.err
    repeated = json.loads(again.out)
    assert (repeated["uploaded"], repeated["already_there"], repeated["tagged"]) == (0, 4, False)


def test_push_with_a_login(
    built_candidate: Path,
    auth_registry: RegistryServer,
    registry: RegistryServer,
    base_image: str,
    cli: CliRunner,
) -> None:
    use_image(built_candidate, f"{auth_registry.host}/acme/churn-model", base_image)
    assert cli("image", "build", "-f", _manifest(built_candidate)).status == 0
    refused = cli("image", "push", "-f", _manifest(built_candidate))
    assert refused.status == 3
    assert "needs a login" in refused.err
    assert "MLOPS_CI_REGISTRY_USERNAME" in refused.err

    ((user, password),) = USERS.items()
    wrong = cli(
        "image", "push", "-f", _manifest(built_candidate),
        environ={
            **ENVIRON,
            "MLOPS_CI_REGISTRY_USERNAME": user,
            "MLOPS_CI_REGISTRY_PASSWORD": "wrong-password",
        },
    )  # fmt: skip
    assert wrong.status == 3
    assert "refused" in wrong.err
    assert "wrong-password" not in wrong.err + wrong.out

    environ = {
        **ENVIRON,
        "MLOPS_CI_REGISTRY_USERNAME": user,
        "MLOPS_CI_REGISTRY_PASSWORD": password,
    }
    pushed = cli("image", "push", "-f", _manifest(built_candidate), "--json", "-v", environ=environ)
    assert pushed.status == 0, pushed.err
    assert password not in pushed.err + pushed.out
    inspected = skopeo(
        "inspect", "--tls-verify=false", f"--creds={user}:{password}",
        "docker://" + json.loads(pushed.out)["reference"].rsplit("@", 1)[0],
    )  # fmt: skip
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == json.loads(pushed.out)["digest"]


def test_a_push_through_a_faulty_network_completes(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded = Recorded()
    monkeypatch.setattr(meters, "meters_for", lambda err, environ: recorded)
    proxy = FaultyProxy(registry.host)
    try:
        use_image(built_candidate, f"{proxy.host}/acme/faulty-model", base_image)
        manifest = _manifest(built_candidate)
        assert cli("image", "build", "-f", manifest).status == 0
        proxy.faults = [
            Fault("PUT", drop_after=200, path_part="/blobs/uploads/"),
            Fault("POST", status=500),
            Fault("HEAD", status=429, retry_after="0"),
            Fault("PUT", status=503, path_part="/manifests/"),
        ]
        pushed = cli("image", "push", "-f", manifest, "--json")
        assert pushed.status == 0, pushed.err
        assert not proxy.faults
    finally:
        proxy.stop()
    # The push is metered in bytes in place: never past the total, at the total at the end,
    # and back where the registry stood after the dropped upload.
    ((what, total, unit),) = recorded.started
    assert (what.startswith("push "), unit) == (True, "bytes")
    told = [done for done in recorded.updates[what] if done is not None]
    assert total is not None
    assert told[-1] == total
    assert max(told) == total
    assert recorded.finished == [what]
    digest = json.loads(pushed.out)["digest"]
    version = json.loads(pushed.out)["reference"].rsplit("@", 1)[0].rsplit(":", 1)[1]
    direct = f"docker://{registry.host}/acme/faulty-model:{version}"
    inspected = skopeo("inspect", "--tls-verify=false", direct)
    assert json.loads(inspected.stdout)["Digest"] == digest
    # skopeo checks every blob's digest as it copies
    copied = skopeo("copy", "--src-tls-verify=false", direct, f"dir:{built_candidate / 'copied'}")
    assert copied.returncode == 0, copied.stderr


def test_an_oci_layout_as_output_and_as_repository(
    built_candidate: Path, registry: RegistryServer, base_image: str, cli: CliRunner
) -> None:
    use_image(built_candidate, "oci:build/image", base_image)
    manifest = _manifest(built_candidate)
    built = cli("image", "build", "-f", manifest, "--json", "--output", "oci:out/layout",
                "--output", "docker-archive:out/image.tar")  # fmt: skip
    assert built.status == 0, built.err
    summary = json.loads(built.out)
    version = summary["version"]
    for layout in ("out/layout", "build/image"):
        if layout == "build/image":
            assert cli("image", "push", "-f", manifest).status == 0
        inspected = skopeo("inspect", f"oci:{built_candidate / layout}:{version}")
        assert inspected.returncode == 0, inspected.stderr
        assert json.loads(inspected.stdout)["Digest"] == summary["digest"]
    archive = built_candidate / "out" / "image.tar"
    from_archive = skopeo("inspect", f"oci-archive:{archive}")
    assert from_archive.returncode == 0, from_archive.stderr
    assert json.loads(from_archive.stdout)["Digest"] == summary["digest"]
    assert cli("image", "build", "-f", manifest, "--output", "zip:x").status == 2


def test_promote_tags_the_validated_digest(
    example_copy: Path, registry: RegistryServer, base_image: str, cli: CliRunner
) -> None:
    from tests.conftest import commit

    use_image(example_copy, f"{registry.host}/acme/promoted-model", base_image)
    commit(example_copy, "feat: the churn model")
    manifest = _manifest(example_copy)
    built = cli("build", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
    candidate = json.loads(built.out)["stages"][0]["version"]
    assert cli("image", "build", "-f", manifest).status == 0
    pushed = json.loads(cli("image", "push", "-f", manifest, "--json").out)

    early = cli("image", "promote", "-f", manifest, "--version", candidate, "--to", "1.44.0")
    assert early.status == 2
    assert "not validated" in early.err

    for stage in ("test", "validate"):
        done = cli(stage, "-f", manifest, "--no-tracking", "--version", candidate, environ=ENVIRON)
        assert done.status == 0, done.out
    promoted = cli(
        "image", "promote", "-f", manifest, "--version", candidate, "--to", "1.44.0",
        "--environment", "production", "--json",
    )  # fmt: skip
    assert promoted.status == 0, promoted.err
    result = json.loads(promoted.out)
    assert result["digest"] == pushed["digest"]
    assert result["written"] == [
        "1.44.0", "production", "1.44.0.modelpack", "production.modelpack"
    ]  # fmt: skip
    for tag in ("1.44.0", "production"):
        inspected = skopeo(
            "inspect", "--tls-verify=false", f"docker://{registry.host}/acme/promoted-model:{tag}"
        )
        assert json.loads(inspected.stdout)["Digest"] == pushed["digest"]
        # The ModelPack artifact goes where the image goes, the same bytes.
        raw = skopeo(
            "inspect", "--raw", "--tls-verify=false",
            f"docker://{registry.host}/acme/promoted-model:{tag}.modelpack",
        )  # fmt: skip
        assert (
            "sha256:" + hashlib.sha256(raw.stdout.encode()).hexdigest()
            == (pushed["modelpack"].rpartition("@")[2])
        )
    again = cli("image", "promote", "-f", manifest, "--version", candidate, "--to", "1.44.0")
    assert again.status == 0
    assert "nothing to do" in again.out


def test_a_push_with_bearer_tokens_masks_them_in_actions(
    built_candidate: Path,
    token_registry: tuple[RegistryServer, TokenServer],
    registry: RegistryServer,
    base_image: str,
    cli: CliRunner,
) -> None:
    server, tokens = token_registry
    use_image(built_candidate, f"{server.host}/acme/token-model", base_image)
    assert cli("image", "build", "-f", _manifest(built_candidate)).status == 0
    ((user, password),) = USERS.items()
    environ = {
        **ENVIRON,
        "MLOPS_CI_REGISTRY_USERNAME": user,
        "MLOPS_CI_REGISTRY_PASSWORD": password,
        "GITHUB_ACTIONS": "true",
    }
    pushed = cli("image", "push", "-f", _manifest(built_candidate), "-v", environ=environ)
    assert pushed.status == 0, pushed.err
    assert (user, ["repository:acme/token-model:pull,push"]) in tokens.requests
    announced = [line for line in pushed.err.splitlines() if line.startswith("::add-mask::")]
    assert announced  # the runner is told every token we came by
    shown = pushed.out + "\n".join(x for x in pushed.err.splitlines() if x not in announced)
    for line in announced:
        assert line.removeprefix("::add-mask::") not in shown
    assert password not in pushed.out + pushed.err


def test_a_base_without_what_deploy_sh_runs_is_refused_at_build(
    built_candidate: Path, registry: RegistryServer, cli: CliRunner, tmp_path: Path
) -> None:
    lacking = [a for a in BUSYBOX_APPLETS if a not in ("grep", "sed")]
    layout = busybox_layout(tmp_path / "layout", applets=lacking)
    base = f"{registry.host}/library/busybox-lacking:test"
    copied = skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{layout}:test", f"docker://{base}"
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    use_image(built_candidate, f"{registry.host}/acme/lacking-model", base)
    built = cli("image", "build", "-f", _manifest(built_candidate))
    assert built.status == 2, built.err
    assert f"the base image {base} (release.image.base in " in built.err
    assert "has no grep, sed in /bin or /usr/bin" in built.err
    assert "Traceback" not in built.err
    again = cli("image", "build", "-f", _manifest(built_candidate))  # the kept answer
    assert again.status == 2
    assert "has no grep, sed" in again.err


def test_a_push_to_another_repository_mounts_what_the_model_pushed_before(
    built_candidate: Path, registry: RegistryServer, base_image: str, cli: CliRunner
) -> None:
    use_image(built_candidate, f"{registry.host}/acme/staging-model", base_image)
    assert cli("image", "build", "-f", _manifest(built_candidate)).status == 0
    first = cli("image", "push", "-f", _manifest(built_candidate), "--json")
    assert first.status == 0, first.err
    assert "uploading" not in first.err  # log records below warnings only with -v
    assert (json.loads(first.out)["uploaded"], json.loads(first.out)["mounted"]) == (3, 1)

    manifest = Path(_manifest(built_candidate))
    manifest.write_text(manifest.read_text().replace("acme/staging-model", "acme/prod-model"))
    again = cli("image", "push", "-f", _manifest(built_candidate), "--json")
    assert again.status == 0, again.err
    result = json.loads(again.out)
    # The base from library/busybox; the model layer, deploy layer and config from
    # acme/staging-model: nothing crosses the network again.
    assert (result["uploaded"], result["mounted"], result["already_there"]) == (0, 4, 0)
    tagged = result["reference"].rsplit("@", 1)[0]
    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{tagged}")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == result["digest"]


def test_the_image_build_takes_the_build_s_sums_only_for_files_no_write_touched(
    built_candidate: Path, registry: RegistryServer, base_image: str, cli: CliRunner
) -> None:
    use_image(built_candidate, f"{registry.host}/acme/once-model", base_image)
    sums = built_candidate / ".mlops-ci" / "artifact-sums" / "churn-classifier"
    [ledger] = sums.glob("*.json")
    kept = json.loads(ledger.read_text())["files"]
    model = built_candidate / "build" / "model"
    assert set(kept) == {p.relative_to(model).as_posix() for p in model.rglob("*") if p.is_file()}
    built = cli("image", "build", "-f", _manifest(built_candidate), "--json")
    assert built.status == 0, built.err
    once = json.loads(built.out)["digest"]

    # the same bytes hashed again (no sums kept) make the same image
    ledger.unlink()
    (built_candidate / ".mlops-ci" / "images" / "digests.json").unlink()
    again = cli("image", "build", "-f", _manifest(built_candidate), "--json")
    assert again.status == 0, again.err
    assert json.loads(again.out)["digest"] == once

    # a file rewritten in place with its old size and mtime is still a change (its ctime
    # moved): hashed again, it no longer matches the build's record
    first = next(p for p in sorted(model.rglob("*")) if p.is_file() and p.stat().st_size)
    before = first.stat()
    data = bytearray(first.read_bytes())
    data[0] ^= 0xFF
    first.write_bytes(bytes(data))
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    caught = cli("image", "build", "-f", _manifest(built_candidate))
    assert caught.status == 2
    assert "no longer holds the files" in caught.err
