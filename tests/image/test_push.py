"""Build and push the example's image to a real registry; other clients read it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ENVIRON, CliRunner
from tests.image.conftest import USERS, use_image
from tests.services import RegistryServer, skopeo


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

    pushed = cli("image", "push", "-f", _manifest(built_candidate), "--json")
    assert pushed.status == 0, pushed.err
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
        f"docker://{auth_registry.host}/acme/churn-model:{json.loads(pushed.out)['reference'].split(':')[-2].split('@')[0]}",
    )  # fmt: skip
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == json.loads(pushed.out)["digest"]
