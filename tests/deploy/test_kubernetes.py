"""Kubernetes deploy files: the model's image pinned by digest and blue/green flipped, with
one value's bytes changed and everything else (comments included) kept; the results are
valid against the Kubernetes API's schemas."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from mlops_ci.deploy.kubernetes import blue_green_slots, flip_to, image_sites, pin_images
from mlops_ci.deploy.text import DeployFileError
from tests.conftest import EXAMPLE

REPOSITORY = "ghcr.io/acme/churn-model"
PINNED = f"{REPOSITORY}:1.44.0@sha256:{'ab' * 32}"
K8S_VERSION = "1.31.0"


def validate(text: str) -> None:
    from ruamel.yaml import YAML

    for document in YAML(typ="safe").load_all(text):
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.split("\n"), after.split("\n")
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_rolling_pins_every_reference_and_keeps_the_comment() -> None:
    text = (EXAMPLE / "deploy" / "staging" / "mlapp.yaml").read_text()
    pinned = pin_images(text, "staging/mlapp.yaml", REPOSITORY, PINNED)
    assert changed_lines(text, pinned) == [
        (
            "          image: ghcr.io/acme/churn-model:1.43.13"
            "   # release pull requests pin this by digest",
            f"          image: {PINNED} # release pull requests pin this by digest",
        )
    ]
    validate(pinned)
    assert pin_images(pinned, "staging/mlapp.yaml", REPOSITORY, PINNED) == pinned


def test_blue_green_pins_the_idle_slot_and_routes_to_it() -> None:
    text = (EXAMPLE / "deploy" / "k8s" / "mlapp.yaml").read_text()
    slots = blue_green_slots(text, "k8s/mlapp.yaml", REPOSITORY)
    assert (slots.app, slots.live, slots.idle, slots.service) == ("mlapp", "blue", "green", "mlapp")
    pinned = pin_images(text, "k8s/mlapp.yaml", REPOSITORY, PINNED, names=["mlapp-green"])
    flipped = flip_to(pinned, "k8s/mlapp.yaml", slots, "green")
    assert changed_lines(text, flipped) == [
        (
            "  selector: {app: mlapp, slot: blue}    # the live slot",
            "  selector: {app: mlapp, slot: green}   # the live slot",
        ),
        ("          image: ghcr.io/acme/churn-model:1.43.13", f"          image: {PINNED}"),
    ]
    validate(flipped)
    again = blue_green_slots(flipped, "k8s/mlapp.yaml", REPOSITORY)
    assert (again.live, again.idle) == ("green", "blue")  # the next release goes to blue


IMAGE_VOLUME = """\
apiVersion: v1
kind: Pod
metadata: {name: scorer}
spec:
  containers:
    - name: app
      image: "ghcr.io/acme/app:2.0"   # not ours: never touched
      volumeMounts: [{name: model, mountPath: /model, readOnly: true}]
  volumes:
    # the newer pattern: the image itself is the volume (Kubernetes 1.31+)
    - name: model
      image: {reference: 'ghcr.io/acme/churn-model:1.0.0', pullPolicy: IfNotPresent}
"""

FLOW_INIT = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          initContainers: [{name: model, image: ghcr.io/acme/churn-model:1.0.0, command: [sh]}]
          containers: [{name: score, image: ghcr.io/acme/scorer:1.0}]
"""


def test_image_volumes_flow_style_and_quotes() -> None:
    volume = pin_images(IMAGE_VOLUME, "pod.yaml", REPOSITORY, PINNED)
    assert changed_lines(IMAGE_VOLUME, volume) == [
        (
            "      image: {reference: 'ghcr.io/acme/churn-model:1.0.0', pullPolicy: IfNotPresent}",
            f"      image: {{reference: '{PINNED}', pullPolicy: IfNotPresent}}",
        )
    ]
    (site,) = image_sites(volume, "pod.yaml", REPOSITORY)
    assert (site.kind, site.field, site.value) == ("Pod", "volumes[0].image.reference", PINNED)
    flow = pin_images(FLOW_INIT, "cron.yaml", REPOSITORY, PINNED)
    assert f"image: {PINNED}, command:" in flow
    validate(flow)


def test_files_that_cannot_be_pinned(tmp_path: Path) -> None:
    with pytest.raises(
        DeployFileError, match=r"app\.yaml has no image of ghcr\.io/acme/churn-model"
    ):
        pin_images(IMAGE_VOLUME.replace("churn-model", "other"), "app.yaml", REPOSITORY, PINNED)
    with pytest.raises(DeployFileError, match=r"^bad.yaml:3: not valid YAML"):
        pin_images("a: 1\nb: [\n  c: d: e\n", "bad.yaml", REPOSITORY, PINNED)
    staging = (EXAMPLE / "deploy" / "staging" / "mlapp.yaml").read_text()
    with pytest.raises(DeployFileError, match="<app>-blue and <app>-green"):
        blue_green_slots(staging, "staging.yaml", REPOSITORY)
    production = (EXAMPLE / "deploy" / "k8s" / "mlapp.yaml").read_text()
    no_service = production.split("---", 1)[1]
    with pytest.raises(DeployFileError, match="no Service with selector"):
        blue_green_slots(no_service, "k8s.yaml", REPOSITORY)
