"""Nomad job files: the prestart task's image pinned by digest, the job's native blue/green
kept in force, comments and layout untouched, the result still a valid job."""

from __future__ import annotations

import hcl2
import pytest

from mlops_ci.deploy.nomad import ensure_blue_green, pin_images
from mlops_ci.deploy.text import DeployFileError
from tests.conftest import EXAMPLE
from tests.deploy.test_kubernetes import PINNED, REPOSITORY, changed_lines

JOB = (EXAMPLE / "deploy" / "nomad" / "mlapp.nomad.hcl").read_text()


def test_the_prestart_image_is_pinned_and_nothing_else_moves() -> None:
    commented = JOB.replace(
        '    task "model" {',
        '    # was: image = "ghcr.io/acme/churn-model:0.9.0" (a comment is not a reference)\n'
        '    task "model" {',
    )
    pinned = pin_images(commented, "mlapp.nomad.hcl", REPOSITORY, PINNED)
    assert changed_lines(commented, pinned) == [
        (
            '        image   = "ghcr.io/acme/churn-model:1.43.13"',
            f'        image   = "{PINNED}"',
        )
    ]
    job = hcl2.loads(pinned)
    task = job["job"][0]['"mlapp"']["group"][0]['"mlapp"']["task"][0]['"model"']
    assert task["config"][0]["image"] == f'"{PINNED}"'
    assert task["lifecycle"][0]["hook"] == '"prestart"'


def test_blue_green_settings_are_kept_in_force() -> None:
    assert ensure_blue_green(JOB, "mlapp.nomad.hcl") == JOB  # already canary = count
    drifted = JOB.replace("canary           = 3", "canary           = 1").replace(
        "auto_promote     = false", "auto_promote     = true"
    )
    fixed = ensure_blue_green(drifted, "mlapp.nomad.hcl")
    assert fixed == JOB
    without = JOB.replace("    canary           = 3\n", "")
    with pytest.raises(
        DeployFileError, match=r"mlapp.nomad.hcl:8: the update block needs canary = 3"
    ):
        ensure_blue_green(without, "mlapp.nomad.hcl")


def test_jobs_that_cannot_be_pinned() -> None:
    with pytest.raises(DeployFileError, match="has no image"):
        pin_images(JOB, "other.hcl", "ghcr.io/acme/other-model", PINNED)
    with pytest.raises(DeployFileError, match=r"^broken\.hcl: not a valid Nomad job"):
        pin_images('job "x" {\n  group "g" {\n', "broken.hcl", REPOSITORY, PINNED)
    no_update = JOB.replace("  update {", "  xupdate {")
    with pytest.raises(DeployFileError, match="has no update block"):
        ensure_blue_green(no_update, "x.hcl")
