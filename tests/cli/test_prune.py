"""`mlops-ci prune` on a real repository, records and the embedded MLflow store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mlops_ci.core.records import StageRecord
from tests.conftest import CliRunner, commit, embedded_tracker, git, records_of, tag

MODEL = "churn-classifier"


def setup_candidates(repo: Path, image_repository: str = "oci:build/image") -> None:
    """Five candidates and a release; images go to ``image_repository`` (a folder by
    default, which prune leaves alone)."""
    manifest = repo / "mlops.yaml"
    manifest.write_text(
        manifest.read_text()
        .replace(
            "candidates: {keep_last: 10, max_age: 30d}", "candidates: {keep_last: 3, max_age: 30d}"
        )
        .replace("repository: ghcr.io/acme/churn-model", f"repository: {image_repository}")
    )
    commit(repo, "initial")
    tag(repo, f"{MODEL}@1.43.13", days_ago=100)
    tag(repo, f"{MODEL}@1.43.13-rc.2", days_ago=101)  # became production: always kept
    for number, age in [(1, 60), (2, 20), (3, 10), (4, 5), (5, 1)]:
        tag(repo, f"{MODEL}@1.44.0-rc.{number}", days_ago=age)


def plan(cli: CliRunner, repo: Path, *extra: str) -> list[tuple[str, bool, str]]:
    run = cli("prune", "--json", "-f", str(repo / "mlops.yaml"), *extra)
    assert run.status == 0, run.err
    return [(d["version"], d["expire"], d["reason"]) for d in json.loads(run.out)["decisions"]]


def test_dry_run_changes_nothing(cli: CliRunner, example_copy: Path) -> None:
    setup_candidates(example_copy)
    decisions = plan(cli, example_copy, "--dry-run", "--no-tracking")
    assert decisions == [
        ("1.44.0-rc.5", False, "recent and among the newest"),
        ("1.44.0-rc.4", False, "recent and among the newest"),
        ("1.44.0-rc.3", False, "recent and among the newest"),
        ("1.44.0-rc.2", True, "not among the 3 newest candidates"),
        ("1.44.0-rc.1", True, "not among the 3 newest candidates"),
        ("1.43.13-rc.2", False, "it became the version in production"),
    ]
    assert f"{MODEL}@1.44.0-rc.1" in git(example_copy, "tag", "--list")
    assert not (example_copy / ".mlops-ci").exists()
    text = cli("prune", "--dry-run", "--no-tracking", "-f", str(example_copy / "mlops.yaml"))
    assert text.out.splitlines()[-1] == f"{MODEL}: 2 candidates would expire, 4 kept"


def test_prune_expires_in_records_git_and_mlflow_and_protects_aliases(
    cli: CliRunner, example_copy: Path
) -> None:
    setup_candidates(example_copy)
    when = datetime(2026, 11, 1, tzinfo=UTC)
    store = records_of(example_copy)
    store.write(
        StageRecord(
            model=MODEL,
            version="1.44.0-rc.2",
            stage="test",
            verdict="failed",
            state="failed",
            started_at=when,
            finished_at=when,
        )
    )
    tracker = embedded_tracker(example_copy)
    for version in ("1.44.0-rc.1", "1.44.0-rc.3"):
        tracker.register(version, None, example_copy, [])
    tracker.move_alias("validated", "1.44.0-rc.1", when)

    decisions = plan(cli, example_copy)
    assert ("1.44.0-rc.1", False, "the MLflow alias 'validated' points at it") in decisions
    assert ("1.44.0-rc.2", True, "not among the 3 newest candidates") in decisions
    tags = git(example_copy, "tag", "--list").split()
    assert f"{MODEL}@1.44.0-rc.2" not in tags
    assert f"{MODEL}@1.44.0-rc.1" in tags
    # the failed candidate stays failed: no expire record, only its tag is gone
    assert store.read(MODEL, "1.44.0-rc.2", "expire") is None

    # a second run has nothing left to do
    assert [d for d in plan(cli, example_copy) if d[1]] == []


def test_expired_candidates_are_recorded_and_marked(cli: CliRunner, example_copy: Path) -> None:
    setup_candidates(example_copy)
    manifest = example_copy / "mlops.yaml"
    manifest.write_text(manifest.read_text().replace("keep_last: 3", "keep_last: 10"))
    tracker = embedded_tracker(example_copy)
    tracker.register("1.44.0-rc.1", None, example_copy, [])
    decisions = plan(cli, example_copy)
    assert [d for d in decisions if d[1]] == [
        ("1.44.0-rc.1", True, "60 days old, older than 30 days")
    ]
    record = records_of(example_copy).read(MODEL, "1.44.0-rc.1", "expire")
    assert record is not None
    assert (record.state, record.synced) == ("expired", True)
    number = tracker.model_version_of("1.44.0-rc.1")
    assert number is not None
    assert tracker.client.get_model_version(MODEL, number).tags["mlops-ci.state"] == "expired"
    history = json.loads(cli("version", "history", "--json", "-f", str(manifest)).out)
    states = {v["version"]: v["state"] for v in history["versions"]}
    assert states["1.44.0-rc.1"] == "expired"
