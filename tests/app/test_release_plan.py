"""The release plan: every file change and the pull request's text, from known facts."""

from __future__ import annotations

from datetime import date

import hcl2

from mlops_ci.app.release_plan import plan_release
from mlops_ci.core.gates import GateResult
from mlops_ci.core.record_details import DataSetFingerprint
from mlops_ci.core.release import MARKER, Candidate, Target, branch_name
from tests.conftest import EXAMPLE
from tests.deploy.test_kubernetes import changed_lines, validate

DIGEST = "sha256:" + "cd" * 32
CANDIDATE = Candidate(
    version="1.44.0-rc.2",
    release_version="1.44.0",
    digest=DIGEST,
    repository="ghcr.io/acme/churn-model",
    gates=(
        GateResult("accuracy", "min", 0.9, 0.934, "passed", "", production=0.93),
        GateResult("accuracy against production", "max_drop", 0.005, -0.004, "passed", ""),
    ),
    metrics={"accuracy": 0.934, "f1": 0.88, "log_loss": 0.21},
    production="1.43.13",
    production_metrics={"accuracy": 0.93, "f1": 0.87, "log_loss": 0.22},
    data=(DataSetFingerprint("train", 6000, "ab" * 32, "ef" * 32),),
    commits=(
        ("1234567890abcdef", "feat: a better model | with pipes"),
        ("fedcba0987654321", "fix: data"),
    ),
    history=(("1.42.0", {"accuracy": 0.92}), ("1.43.13", {"accuracy": 0.93})),
)


def plan(environment: str, strategy: str, targets: list[Target], changelog: str | None = None):  # type: ignore[no-untyped-def]
    return plan_release(
        model="churn-classifier",
        environment=environment,
        strategy=strategy,
        candidate=CANDIDATE,
        manifest_path="mlops.yaml",
        manifest_text=(EXAMPLE / "mlops.yaml").read_text(),
        targets=targets,
        changelog=changelog,
        today=date(2026, 11, 25),
    )


def target(kind: str, path: str) -> Target:
    return Target(kind, path, (EXAMPLE / path).read_text())


def test_production_blue_green_on_kubernetes_and_nomad() -> None:
    k8s, job = (
        target("kubernetes", "deploy/k8s/mlapp.yaml"),
        target("nomad", "deploy/nomad/mlapp.nomad.hcl"),
    )
    released = plan("production", "blue-green", [k8s, job])
    assert released.branch == branch_name("churn-classifier", "production")
    assert released.branch == "mlops-ci/release/churn-classifier/production"
    assert released.title == "Release churn-classifier 1.44.0 to production"
    changes = {change.path: change.text for change in released.changes}
    assert list(changes) == ["mlops.yaml", k8s.path, job.path, "CHANGELOG.md"]
    reference = f"ghcr.io/acme/churn-model:1.44.0@{DIGEST}"
    assert [new for _, new in changed_lines(k8s.text, changes[k8s.path])] == [
        "  selector: {app: mlapp, slot: green}   # the live slot",
        f"          image: {reference}",
    ]
    validate(changes[k8s.path])
    assert f'image   = "{reference}"' in changes[job.path]
    hcl2.loads(changes[job.path])
    assert "version: 1.44.0 " in changes["mlops.yaml"]
    assert changes["CHANGELOG.md"].startswith(
        "# Changelog\n\n## churn-classifier 1.44.0 (2026-11-25)\n"
    )


def test_the_body_says_everything_on_one_page() -> None:
    body = plan("staging", "rolling", [target("kubernetes", "deploy/staging/mlapp.yaml")]).body
    assert body.startswith("### ✅ churn-classifier 1.44.0-rc.2 passed every gate")
    assert "| `accuracy` | 0.934 | ≥ 0.9 | +0.004 | ✅ |" in body
    assert "| `f1` | 0.88 | 0.87 | +0.01 |" in body
    assert "| train | 6,000 | `abababababababab…` |" in body
    assert f"`ghcr.io/acme/churn-model:1.44.0@{DIGEST}`" in body
    assert "- 1234567 feat: a better model \\| with pipes" in body
    assert "```mermaid\nxychart-beta" in body
    assert 'x-axis ["1.42.0", "1.43.13", "1.44.0-rc.2"]' in body
    assert "line [0.92, 0.93, 0.934]" in body
    assert body.rstrip().endswith(f"{MARKER} model=churn-classifier environment=staging "
                                  f"candidate=1.44.0-rc.2 digest={DIGEST} -->")  # fmt: skip


def test_a_plan_on_its_own_result_changes_nothing_but_the_changelog() -> None:
    staging = target("kubernetes", "deploy/staging/mlapp.yaml")
    first = plan("staging", "rolling", [staging])
    pinned = Target(
        "kubernetes", staging.path, {c.path: c.text for c in first.changes}[staging.path]
    )
    again = plan("staging", "rolling", [pinned])
    assert {c.path: c.text for c in again.changes}[staging.path] == pinned.text


def test_changelog_entries_go_under_the_title() -> None:
    existing = "# Changelog\n\n## churn-classifier 1.43.13 (2026-10-01)\n\n- old\n"
    released = plan(
        "staging", "rolling", [target("kubernetes", "deploy/staging/mlapp.yaml")], existing
    )
    text = {c.path: c.text for c in released.changes}["CHANGELOG.md"]
    assert text.index("1.44.0 (2026-11-25)") < text.index("1.43.13 (2026-10-01)")
    assert text.startswith("# Changelog\n\n## churn-classifier 1.44.0")
