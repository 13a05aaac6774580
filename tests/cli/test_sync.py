"""`mlops-ci sync`: records reach MLflow once, whether the store is embedded or a server
that dies half-way."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TrackingTarget
from mlops_ci.core.records import StageRecord
from tests.conftest import CliRunner, MlflowServer, commit, git, records_of

MODEL = "churn-classifier"
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def write_records(repo: Path, count: int) -> list[StageRecord]:
    store = records_of(repo)
    records = []
    for index in range(count):
        at = START + timedelta(minutes=index)
        record = StageRecord(
            model=MODEL,
            version=f"1.44.0-rc.{index // 3 + 1}",
            stage=("build", "test", "validate")[index % 3],
            verdict="passed",
            state=("candidate", "tested", "validated")[index % 3],
            started_at=at,
            finished_at=at,
            git_sha="a" * 40,
            metrics={f"metric_{n}": n / 10 for n in range(20)},
            params={"index": str(index)},
        )
        store.write(record)
        records.append(record)
    return records


def tracker_for(uri: str, repo: Path) -> MlflowTracker:
    return MlflowTracker(
        TrackingTarget(
            uri=uri,
            experiment=MODEL,
            registered_model=MODEL,
            artifact_root=repo / ".mlops-ci" / "mlartifacts",
        )
    )


def assert_each_record_arrived_once(tracker: MlflowTracker, records: list[StageRecord]) -> None:
    for record in records:
        runs = [
            r
            for r in tracker.runs_of(MODEL, record.version)
            if r.data.tags["mlops-ci.stage"] == record.stage
        ]
        assert len(runs) == 1, (record.version, record.stage, len(runs))
        run_id = runs[0].info.run_id
        assert runs[0].data.metrics == record.metrics
        assert len(tracker.client.get_metric_history(run_id, "metric_3")) == 1


def test_sync_to_the_embedded_store_is_idempotent(cli: CliRunner, example_copy: Path) -> None:
    commit(example_copy, "initial")
    records = write_records(example_copy, 6)
    manifest = str(example_copy / "mlops.yaml")
    run = cli("sync", "--json", "-f", manifest)
    assert run.status == 0, run.err
    report = json.loads(run.out)
    assert [(s["version"], s["stage"]) for s in report["synced"]] == [
        (r.version, r.stage) for r in records
    ]
    assert report["already_synced"] == 0
    assert report["tracking_uri"].endswith("/.mlops-ci/mlflow.db")
    again = cli("sync", "-f", manifest)
    assert again.out == f"{MODEL}: sent 0 records to {report['tracking_uri']}; 6 already there\n"
    tracker = tracker_for(report["tracking_uri"], example_copy)
    assert_each_record_arrived_once(tracker, records)


def test_sync_to_a_real_server(
    cli: CliRunner, example_copy: Path, mlflow_server: MlflowServer
) -> None:
    commit(example_copy, "initial")
    records = write_records(example_copy, 3)
    environ = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    run = cli("sync", "-f", str(example_copy / "mlops.yaml"), environ=environ)
    assert run.status == 0, run.err
    # nothing but our own line on stdout (mlflow would print "View run ... at: URL")
    assert run.out == f"{MODEL}: sent 3 records to {mlflow_server.url}; 0 already there\n"
    tracker = tracker_for(mlflow_server.url, example_copy)
    assert_each_record_arrived_once(tracker, records)
    run_id = tracker.runs_of(MODEL, "1.44.0-rc.1")[0].info.run_id
    assert [a.path for a in tracker.client.list_artifacts(run_id, "mlops-ci")] == [
        f"mlops-ci/{tracker.client.get_run(run_id).data.tags['mlops-ci.stage']}.json"
    ]


def test_a_fresh_clone_s_sync_finds_what_another_clone_sent(
    cli: CliRunner, example_copy: Path, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """Which records MLflow holds is each machine's ledger, not git's: a fresh clone knows
    nothing of it, and its sync must find the runs already there rather than send them
    again."""
    commit(example_copy, "initial")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(example_copy), str(origin)], check=True)
    git(example_copy, "remote", "add", "origin", str(origin))
    records = write_records(example_copy, 6)
    git(example_copy, "push", "-q", "origin", "refs/mlops-ci/records")
    environ = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    first = cli("sync", "-f", str(example_copy / "mlops.yaml"), environ=environ)
    assert first.status == 0, first.err
    assert "sent 6 records" in first.out

    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(origin), str(fresh)], check=True)
    assert not (fresh / ".mlops-ci").exists()
    again = cli("sync", "--json", "-f", str(fresh / "mlops.yaml"), environ=environ)
    assert again.status == 0, again.err
    report = json.loads(again.out)
    # Replayed as far as this clone knows, and each found where the other clone put it.
    assert len(report["synced"]) == 6
    assert_each_record_arrived_once(tracker_for(mlflow_server.url, fresh), records)
    assert "6 already there" in cli("sync", "-f", str(fresh / "mlops.yaml"), environ=environ).out


@pytest.mark.slow
def test_server_killed_mid_sync_then_sync_again_delivers_everything_once(
    cli: CliRunner, example_copy: Path, tmp_path: Path
) -> None:
    server = MlflowServer(tmp_path / "server")
    server.start()
    try:
        commit(example_copy, "initial")
        records = write_records(example_copy, 30)
        environ = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
        store = records_of(example_copy, environ)

        def kill_after_a_few() -> None:
            while sum(r.synced for r in store.records(MODEL)) < 5:
                pass
            server.stop()

        killer = threading.Thread(target=kill_after_a_few)
        killer.start()
        first = cli("sync", "-f", str(example_copy / "mlops.yaml"), environ=environ)
        killer.join()
        assert first.status == 3
        failure = first.err.splitlines()[-1]
        assert failure.startswith(f"mlops-ci: MLflow at {server.url} could not ")
        assert failure.endswith("run `mlops-ci sync` when it is back")
        assert first.out == ""
        delivered = sum(r.synced for r in store.records(MODEL))
        assert 5 <= delivered < 30

        server.start()
        second = cli("sync", "-f", str(example_copy / "mlops.yaml"), environ=environ)
        assert second.status == 0, second.err
        assert second.out.startswith(f"{MODEL}: sent {30 - delivered} records")
        assert all(r.synced for r in store.records(MODEL))
        assert_each_record_arrived_once(tracker_for(server.url, example_copy), records)
    finally:
        server.stop()


def test_sync_registers_a_candidate_built_without_tracking(
    cli: CliRunner, example_copy: Path
) -> None:
    """What publish asks for when a candidate is not registered: sync registers it, from
    the artifacts folder while it still holds the files the build recorded."""
    from tests.conftest import ENVIRON, embedded_tracker

    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    built = cli("build", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert built.status == 0, built.err
    synced = cli("sync", "-f", manifest, "--json", environ=ENVIRON)
    assert synced.status == 0, synced.err
    assert json.loads(synced.out)["registered"] == ["1.44.0-rc.1"]
    tracker = embedded_tracker(example_copy)
    assert tracker.registered_candidates() == ["1.44.0-rc.1"]
    number = tracker.model_version_of("1.44.0-rc.1")
    assert tracker.client.get_model_version(MODEL, number).tags["mlops-ci.state"] == "candidate"
    again = cli("sync", "-f", manifest, "--json", environ=ENVIRON)
    assert json.loads(again.out)["registered"] == []  # once only

    # The next build's folder no longer holds rc.1's files: named, not registered.
    commit(example_copy, "fix: a second candidate", touch="NOTES.md")
    assert cli("build", "-f", manifest, "--no-tracking", environ=ENVIRON).status == 0
    (example_copy / "build" / "model" / "extra.txt").write_text("not what was built\n")
    late = cli("sync", "-f", manifest, environ=ENVIRON)
    assert late.status == 0, late.err
    assert "registered" not in late.out
    assert (
        "1.44.0-rc.2 is not registered in MLflow: its files are no longer in the artifacts "
        "folder; build it again to register it"
    ) in late.err
    assert tracker.registered_candidates() == ["1.44.0-rc.1"]


def test_sync_without_a_tracking_store_says_how_to_name_one(
    cli: CliRunner, shipped_example: Path
) -> None:
    commit(shipped_example, "initial")
    done = cli("sync", "-f", str(shipped_example / "mlops.yaml"))
    assert done.status == 2
    assert done.err.startswith("mlops-ci: MLflow is not configured for churn-classifier: set ")
    assert "MLFLOW_TRACKING_URI" in done.err
    assert not (shipped_example / ".mlops-ci" / "mlflow.db").exists()
