"""`mlops-ci prune` on a real repository, records and the embedded MLflow store."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops_ci.adapters.mlflow import MlflowTracker
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


def record(version: str, stage: str, verdict: str, state: str, **details: object) -> StageRecord:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    return StageRecord(
        model=MODEL, version=version, stage=stage, verdict=verdict,  # type: ignore[arg-type]
        state=state, started_at=when, finished_at=when, details=details,  # type: ignore[arg-type]
    )  # fmt: skip


def test_prune_expires_in_records_and_git_and_protects_aliases_from_git_alone(
    cli: CliRunner, example_copy: Path
) -> None:
    setup_candidates(example_copy)
    store = records_of(example_copy)
    store.write(record("1.44.0-rc.2", "test", "failed", "failed"))
    store.write(record("1.44.0-rc.1", "validate", "passed", "validated"))

    decisions = plan(cli, example_copy)
    assert ("1.44.0-rc.1", False, "the alias 'validated' points at it") in decisions
    assert ("1.44.0-rc.2", True, "not among the 3 newest candidates") in decisions
    tags = git(example_copy, "tag", "--list").split()
    assert f"{MODEL}@1.44.0-rc.2" not in tags
    assert f"{MODEL}@1.44.0-rc.1" in tags
    # the failed candidate stays failed; its expire record says why its tag is gone
    expired = store.read(MODEL, "1.44.0-rc.2", "expire")
    assert expired is not None
    assert (expired.state, expired.details["reason"]) == (
        "failed",
        "not among the 3 newest candidates",
    )

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
    # told by the sync prune waits for (no terminal here)
    assert tracker.client.get_model_version(MODEL, number).tags["mlops-ci.state"] == "expired"
    history = json.loads(cli("version", "history", "--json", "-f", str(manifest)).out)
    states = {v["version"]: v["state"] for v in history["versions"]}
    assert states["1.44.0-rc.1"] == "expired"


def stored_candidate(example_copy: Path) -> tuple[MlflowTracker, Path, Path]:
    """Candidates as setup_candidates makes them, rc.1's model (300,002 bytes) stored in the
    embedded MLflow store and its build log (5,000 bytes) in .mlops-ci: the tracker, the
    log folder and MLflow's artifact store."""
    setup_candidates(example_copy)
    model = example_copy / "build" / "rc1"
    model.mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"w" * 300_000)
    (model / "config.json").write_text("{}")
    built = record("1.44.0-rc.1", "build", "passed", "candidate", size=300_002)
    store = records_of(example_copy)
    store.write(built)
    # the newest build is rc.5's: the alias 'candidate' is on it, not on rc.1
    newest = record("1.44.0-rc.5", "build", "passed", "candidate", size=10)
    store.write(replace(newest, finished_at=newest.finished_at + timedelta(days=1)))
    tracker = embedded_tracker(example_copy)
    run_id = tracker.log_stage(built)
    store.mark_synced(built, run_id)
    tracker.register("1.44.0-rc.1", run_id, model, ["weights.bin", "config.json"])
    logs = example_copy / ".mlops-ci" / "logs" / MODEL / "1.44.0-rc.1"
    logs.mkdir(parents=True)
    (logs / "build.log").write_bytes(b"x" * 5000)
    stored = example_copy / ".mlops-ci" / "mlartifacts"
    assert sum(f.stat().st_size for f in stored.rglob("*") if f.is_file()) >= 300_002

    return tracker, logs, stored


def test_retention_frees_the_model_files_in_mlflow_and_the_logs(
    cli: CliRunner, example_copy: Path
) -> None:
    tracker, logs, stored = stored_candidate(example_copy)
    manifest = str(example_copy / "mlops.yaml")
    dry = cli("prune", "--dry-run", "-f", manifest)
    assert dry.status == 0, dry.err
    assert "would free 1.44.0-rc.1: 293.0KiB of model files in MLflow, 4.9KiB of logs" in dry.out
    assert dry.out.splitlines()[-1].endswith(
        "2 candidates would expire, 4 kept; would free 297.9KiB (293.0KiB in MLflow, "
        "4.9KiB in .mlops-ci)"
    )
    assert logs.exists()
    assert tracker.stored_model_bytes("1.44.0-rc.1") == 300_002

    done = json.loads(cli("prune", "--json", "-f", manifest).out)
    assert done["freed"] == [
        {"version": "1.44.0-rc.1", "mlflow_bytes": 300_002, "local_bytes": 5000}
    ]
    assert not logs.exists()
    assert not any(f.is_file() for f in stored.rglob("*") if "weights" in f.name)
    assert tracker.stored_model_bytes("1.44.0-rc.1") == 0
    number = tracker.model_version_of("1.44.0-rc.1")
    assert number is not None
    files_tag = tracker.client.get_model_version(MODEL, number).tags["mlops-ci.files"]
    assert files_tag == "deleted by retention"
    # a second run has nothing left to free
    again = json.loads(cli("prune", "--json", "-f", manifest).out)
    assert again["freed"] == []
    assert again["freed_bytes"] == {"mlflow": 0, "local": 0, "registry": 0}


def test_at_a_terminal_mlflow_files_are_freed_in_the_background(
    cli: CliRunner, example_copy: Path
) -> None:
    tracker, logs, _ = stored_candidate(example_copy)
    done = cli(
        "prune", "-f", str(example_copy / "mlops.yaml"), environ={"MLOPS_CI_SYNC": "background"}
    )
    assert done.status == 0, done.err
    assert (
        "freed 1.44.0-rc.1: 293.0KiB of model files in MLflow (freed in the background), "
        "4.9KiB of logs and image state"
    ) in done.out
    assert not logs.exists()
    # Done when the sync marks the expire record sent (it frees the files before that).
    deadline = time.monotonic() + 120
    while not _sent(example_copy) and time.monotonic() < deadline:
        time.sleep(0.2)
    log = example_copy / ".mlops-ci" / "sync.log"
    assert _sent(example_copy), log.read_text() if log.exists() else "no log"
    assert tracker.stored_model_bytes("1.44.0-rc.1") == 0


def _sent(repo: Path) -> bool:
    expired = records_of(repo).read(MODEL, "1.44.0-rc.1", "expire")
    return expired is not None and expired.synced


def test_prune_without_tracking_configured_expires_from_git(
    cli: CliRunner, shipped_example: Path
) -> None:
    setup_candidates(shipped_example)
    manifest = str(shipped_example / "mlops.yaml")
    dry = cli("prune", "--dry-run", "-f", manifest)
    assert dry.status == 0, dry.err
    assert dry.out.splitlines()[-1] == f"{MODEL}: 2 candidates would expire, 4 kept"
    done = cli("prune", "-f", manifest)
    assert done.status == 0, done.err
    assert done.out.splitlines()[-1] == f"{MODEL}: 2 candidates expired, 4 kept"
    assert "MLflow" not in done.err
    assert not (shipped_example / ".mlops-ci" / "mlflow.db").exists()
    expired = records_of(shipped_example).read(MODEL, "1.44.0-rc.1", "expire")
    assert expired is not None
    assert (expired.state, expired.synced) == ("expired", False)  # for a sync, if ever
