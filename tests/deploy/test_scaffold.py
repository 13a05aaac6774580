"""`mlops-ci deploy init`: valid files for each target, strategy and pattern, which release
pull requests can then pin."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest

from mlops_ci.deploy import kubernetes, nomad
from mlops_ci.deploy.text import DeployFileError
from tests.conftest import CliRunner
from tests.deploy.test_kubernetes import PINNED, REPOSITORY, validate


@pytest.mark.parametrize("strategy", ["rolling", "blue-green"])
@pytest.mark.parametrize("pattern", ["init-container", "image-volume"])
def test_kubernetes_files_are_valid_and_pinnable(
    example_copy: Path, cli: CliRunner, strategy: str, pattern: str
) -> None:
    done = cli(
        "deploy", "init", "-f", str(example_copy / "mlops.yaml"), "--target", "kubernetes",
        "--strategy", strategy, "--pattern", pattern, "--app", "scorer", "--namespace", "prod",
    )  # fmt: skip
    assert done.status == 0, done.err
    path = example_copy / "deploy" / "staging" / "scorer.yaml"  # beside staging's file
    assert "wrote deploy/staging/scorer.yaml" in done.out
    text = path.read_text()
    validate(text)
    sites = kubernetes.image_sites(text, path.name, REPOSITORY)
    # An image volume mounts the ModelPack artifact: the model files without the base.
    mounted = f"{REPOSITORY}:1.43.13" + (".modelpack" if pattern == "image-volume" else "")
    assert {site.value for site in sites} == {mounted}
    assert len(sites) == (2 if strategy == "blue-green" else 1)
    if strategy == "blue-green":
        slots = kubernetes.blue_green_slots(text, path.name, REPOSITORY)
        assert (slots.app, slots.live) == ("scorer", "blue")
        text = kubernetes.flip_to(text, path.name, slots, slots.idle)
    modelpack = f"{REPOSITORY}:1.44.0.modelpack@sha256:{'c' * 64}"
    pinned = kubernetes.pin_images(text, path.name, REPOSITORY, PINNED, modelpack=modelpack)
    validate(pinned)
    values = {site.value for site in kubernetes.image_sites(pinned, path.name, REPOSITORY)}
    assert values == {modelpack if pattern == "image-volume" else PINNED}
    if pattern == "image-volume":
        with pytest.raises(DeployFileError, match=r"mounts the ModelPack artifact .* has none"):
            kubernetes.pin_images(text, path.name, REPOSITORY, PINNED)


def test_an_image_volume_mounts_the_image_when_there_is_no_modelpack(
    example_copy: Path, cli: CliRunner
) -> None:
    manifest = example_copy / "mlops.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "    backend: auto\n", "    backend: auto\n    modelpack: false\n"
        )
    )
    done = cli(
        "deploy", "init", "-f", str(manifest), "--target", "kubernetes",
        "--pattern", "image-volume", "--app", "scorer",
    )  # fmt: skip
    assert done.status == 0, done.err
    text = (example_copy / "deploy" / "staging" / "scorer.yaml").read_text()
    sites = kubernetes.image_sites(text, "scorer.yaml", REPOSITORY)
    assert [site.value for site in sites] == [f"{REPOSITORY}:1.43.13"]
    assert "ModelPack" not in text


@pytest.mark.parametrize("strategy", ["rolling", "blue-green"])
def test_nomad_jobs_parse_and_are_pinnable(
    example_copy: Path, cli: CliRunner, strategy: str
) -> None:
    done = cli(
        "deploy", "init", "-f", str(example_copy / "mlops.yaml"), "--target", "nomad",
        "--strategy", strategy, "--replicas", "4",
    )  # fmt: skip
    assert done.status == 0, done.err
    path = example_copy / "deploy" / "nomad" / "churn-classifier.nomad.hcl"
    text = path.read_text()
    job = hcl2.loads(text)["job"][0]['"churn-classifier"']
    update = job["update"][0]
    if strategy == "blue-green":
        assert (update["canary"], update["auto_promote"]) == (4, False)
        assert nomad.ensure_blue_green(text, path.name) == text
    else:
        assert "canary" not in update
    pinned = nomad.pin_images(text, path.name, REPOSITORY, PINNED)
    assert f'image   = "{PINNED}"' in pinned


def test_init_refuses_to_overwrite_and_bad_names(example_copy: Path, cli: CliRunner) -> None:
    manifest = str(example_copy / "mlops.yaml")
    arguments = ("deploy", "init", "-f", manifest, "--target", "kubernetes")
    assert cli(*arguments).status == 0
    again = cli(*arguments)
    assert again.status == 2
    assert "exists; pass --force" in again.err
    assert cli(*arguments, "--force").status == 0
    bad = cli(*arguments, "--app", "Bad_Name", "--force")
    assert bad.status == 2
    assert "--app 'Bad_Name'" in bad.err


def test_init_writes_beside_the_manifests_files_and_says_what_to_add(
    example_copy: Path, cli: CliRunner
) -> None:
    manifest = str(example_copy / "mlops.yaml")
    scorer = cli("deploy", "init", "-f", manifest, "--target", "kubernetes", "--app", "scorer")
    assert scorer.status == 0, scorer.err
    # beside staging's deploy/staging/mlapp.yaml, the first Kubernetes file it names
    assert scorer.out.splitlines()[0] == "wrote deploy/staging/scorer.yaml"
    assert not (example_copy / "deploy" / "kubernetes").exists()
    assert "environments that run it (staging, production)" in scorer.out
    assert (
        "targets: [{kubernetes: deploy/staging/mlapp.yaml}, "
        "{kubernetes: deploy/staging/scorer.yaml}]"
    ) in scorer.out
    assert "- name: production\n        strategy" not in scorer.out  # no second production

    again = cli("deploy", "init", "-f", manifest, "--target", "kubernetes", "--app", "mlapp",
                "--force")  # fmt: skip
    assert again.status == 0, again.err
    assert "the environment 'staging' in mlops.yaml deploys it already" in again.out
