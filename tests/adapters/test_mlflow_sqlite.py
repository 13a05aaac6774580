"""The MLflow adapter against the embedded SQLite store: runs, batches, registry, aliases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker, _batches
from mlops_ci.adapters.mlflow_connection import (
    Retry,
    TrackingError,
    TrackingTarget,
    redact_uri,
    resolve_tracking_uri,
)
from mlops_ci.core.records import StageRecord

WHEN = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def record(**changes: object) -> StageRecord:
    values: dict[str, object] = {
        "model": "churn",
        "version": "1.44.0-rc.1",
        "stage": "test",
        "verdict": "passed",
        "state": "tested",
        "started_at": WHEN,
        "finished_at": WHEN,
        "git_sha": "a" * 40,
        "metrics": {"accuracy": 0.91, "f1": 0.84},
        "params": {"seed": "7"},
        "manifest_sha256": "b" * 64,
    }
    values.update(changes)
    return StageRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def tracker(tmp_path: Path) -> MlflowTracker:
    return MlflowTracker(
        TrackingTarget(
            uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            experiment="churn",
            registered_model="churn",
            artifact_root=tmp_path / "artifacts",
        )
    )


def test_a_stage_is_one_run_however_often_it_is_logged(tracker: MlflowTracker) -> None:
    first = tracker.log_stage(record())
    again = tracker.log_stage(record(metrics={"accuracy": 0.91, "f1": 0.84, "auc": 0.95}))
    assert first == again
    runs = tracker.runs_of("churn", "1.44.0-rc.1")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.metrics == {"accuracy": 0.91, "f1": 0.84, "auc": 0.95}
    assert len(tracker.client.get_metric_history(first, "accuracy")) == 1
    assert run.data.params["seed"] == "7"
    assert run.data.params["git_sha"] == "a" * 40
    assert run.data.tags["mlops-ci.verdict"] == "passed"
    assert run.info.status == "FINISHED"
    artifacts = [a.path for a in tracker.client.list_artifacts(first, "mlops-ci")]
    assert artifacts == ["mlops-ci/test.json"]


def test_another_commit_or_stage_is_another_run(tracker: MlflowTracker) -> None:
    runs = {
        tracker.log_stage(record()),
        tracker.log_stage(record(git_sha="c" * 40)),
        tracker.log_stage(record(stage="validate", state="validated")),
    }
    assert len(runs) == 3


def test_a_failed_stage_is_a_failed_run(tracker: MlflowTracker) -> None:
    run_id = tracker.log_stage(record(verdict="failed", state="failed"))
    assert tracker.client.get_run(run_id).info.status == "FAILED"


def test_registry_versions_and_alias_history(tracker: MlflowTracker, tmp_path: Path) -> None:
    run_id = tracker.log_stage(record())
    model = tmp_path / "model"
    model.mkdir()
    first = tracker.register("1.44.0-rc.1", run_id, model, [], {"mlops-ci.state": "tested"})
    assert tracker.register("1.44.0-rc.1", run_id, model, []) == first  # once only
    second = tracker.register("1.44.0-rc.2", None, model, [])
    assert first != second
    assert sorted(tracker.registered_candidates()) == ["1.44.0-rc.1", "1.44.0-rc.2"]

    tracker.move_alias("production", "1.44.0-rc.1", WHEN)
    tracker.move_alias("production", "1.44.0-rc.1", WHEN)  # no move, no new tag
    later = datetime(2026, 11, 26, tzinfo=UTC)
    tracker.move_alias("production", "1.44.0-rc.2", later)
    assert tracker.alias_target("production") == "1.44.0-rc.2"
    assert tracker.alias_target("staging") is None
    old = tracker.client.get_model_version("churn", first).tags
    new = tracker.client.get_model_version("churn", second).tags
    assert old["mlops-ci.alias.production.from"] == WHEN.isoformat()
    assert old["mlops-ci.alias.production.until"] == later.isoformat()
    assert new["mlops-ci.alias.production.from"] == later.isoformat()
    assert tracker.alias_at("production", WHEN - timedelta(days=1)) is None
    assert tracker.alias_at("production", WHEN) == "1.44.0-rc.1"
    assert tracker.alias_at("production", later - timedelta(seconds=1)) == "1.44.0-rc.1"
    assert tracker.alias_at("production", later + timedelta(days=30)) == "1.44.0-rc.2"
    tracker.tag_version("1.44.0-rc.2", {"mlops-ci.image_digest": "sha256:" + "f" * 64})
    assert (
        tracker.client.get_model_version("churn", second).tags["mlops-ci.image_digest"]
        == "sha256:" + "f" * 64
    )


def test_unregistered_versions_are_named(tracker: MlflowTracker) -> None:
    with pytest.raises(TrackingError, match=r"1\.0\.0-rc\.9 is not registered in churn"):
        tracker.move_alias("production", "1.0.0-rc.9", WHEN)


def test_batches_stay_within_mlflow_limits() -> None:
    batches = list(_batches(list(range(2500)), list(range(150)), list(range(30))))
    assert all(len(m) + len(p) + len(t) <= 1000 for m, p, t in batches)
    assert all(len(p) + len(t) <= 100 for _, p, t in batches)
    assert sum(len(m) for m, _, _ in batches) == 2500
    assert sum(len(p) for _, p, _ in batches) == 150
    assert sum(len(t) for _, _, t in batches) == 30
    assert len(list(_batches(list(range(500)), list(range(5)), list(range(3))))) == 1


def test_uri_resolution_and_redaction(tmp_path: Path) -> None:
    assert resolve_tracking_uri("sqlite:///.mlops-ci/mlflow.db", tmp_path, {}) == (
        f"sqlite:///{tmp_path.resolve()}/.mlops-ci/mlflow.db"
    )
    assert (
        resolve_tracking_uri(
            "sqlite:///.mlops-ci/mlflow.db", tmp_path, {"MLFLOW_TRACKING_URI": "http://h:5000"}
        )
        == "http://h:5000"
    )
    assert resolve_tracking_uri("sqlite:////abs/m.db", tmp_path, {}) == "sqlite:////abs/m.db"
    assert redact_uri("https://user:s3cret@mlflow.example:8443/x") == (
        "https://***@mlflow.example:8443/x"
    )
    assert redact_uri("http://h:5000") == "http://h:5000"


def test_an_unreachable_server_fails_after_bounded_retries(tmp_path: Path) -> None:
    waits: list[float] = []
    tracker = MlflowTracker(
        TrackingTarget(
            uri="http://user:pw@127.0.0.1:9",
            experiment="churn",
            registered_model="churn",
            artifact_root=tmp_path,
        ),
        Retry(attempts=3, first_delay=0.25, sleep=waits.append),
    )
    with pytest.raises(TrackingError) as raised:
        tracker.log_stage(record())
    message = str(raised.value)
    assert message.startswith(
        "MLflow at http://***@127.0.0.1:9 could not find the experiment after 3 tries"
    )
    assert "pw" not in message
    # Nothing here says records wait for a sync: the tracker knows of no record in git.
    assert message.endswith("; check that it is up and that this machine can reach it")
    assert waits == [0.25, 0.5]
    assert raised.value.exit_status == 3


def test_a_refusal_is_a_tracking_error_naming_the_store(tracker: MlflowTracker) -> None:
    run_id = tracker.log_stage(record())
    with pytest.raises(TrackingError) as raised:
        tracker._call("log a bad metric", tracker.client.log_metric, run_id, "bad key!?", 1.0)
    assert str(raised.value).startswith(
        f"MLflow at {tracker.target.uri} refused to log a bad metric: "
    )
    assert raised.value.exit_status == 3


def assert_the_model_files_are_the_source(tracker: MlflowTracker, tmp_path: Path) -> None:
    """The registered version's files are in the tracking store, not a path on the runner
    (which a tracking server refuses and a later job could not read)."""
    model = tmp_path / "model"
    (model / "tokenizer").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"\x00weights")
    (model / "tokenizer" / "vocab.txt").write_text("churn\n")
    run_id = tracker.log_stage(record(stage="build", state="candidate"))
    number = tracker.register("1.44.0-rc.1", run_id, model, ["tokenizer/vocab.txt", "weights.bin"])
    registered = tracker.client.get_model_version(tracker.target.registered_model, number)
    assert registered.run_id == run_id
    assert registered.source.endswith("/model") or registered.source == f"runs:/{run_id}/model"
    fetched = Path(tracker.client.download_artifacts(run_id, "model", str(tmp_path / "fetched")))
    assert (fetched / "weights.bin").read_bytes() == b"\x00weights"
    assert (fetched / "tokenizer" / "vocab.txt").read_text() == "churn\n"


def test_the_registered_model_holds_its_files(tracker: MlflowTracker, tmp_path: Path) -> None:
    assert_the_model_files_are_the_source(tracker, tmp_path)


def _looked_too_early(tracker: MlflowTracker, method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tracker's first search finds nothing, as when another job's create came just
    after it: the race, made to happen every time."""
    real = getattr(tracker, method)
    calls = []

    def searched(*arguments: object) -> object:
        calls.append(arguments)
        return None if len(calls) == 1 else real(*arguments)

    monkeypatch.setattr(tracker, method, searched)


def test_a_job_that_raced_another_to_a_run_deletes_its_own_and_reports_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = TrackingTarget(f"sqlite:///{tmp_path / 'mlflow.db'}", "churn", "churn", tmp_path)
    first, late = MlflowTracker(target), MlflowTracker(target)
    run_id = first.log_stage(record())
    _looked_too_early(late, "_find_run", monkeypatch)
    assert late.log_stage(record()) == run_id
    runs = first.runs_of("churn", "1.44.0-rc.1")
    assert [run.info.run_id for run in runs] == [run_id]  # the twin is deleted
    assert runs[0].data.metrics == {"accuracy": 0.91, "f1": 0.84}
    assert first.log_stage(record()) == run_id  # and a re-run finds the first


def test_a_job_that_raced_another_to_a_registered_version_deletes_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = TrackingTarget(f"sqlite:///{tmp_path / 'mlflow.db'}", "churn", "churn", tmp_path)
    first, late = MlflowTracker(target), MlflowTracker(target)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w")
    run_id = first.log_stage(record(stage="build", state="candidate"))
    number = first.register("1.44.0-rc.1", run_id, model, ["weights.bin"])
    _looked_too_early(late, "model_version_of", monkeypatch)
    assert late.register("1.44.0-rc.1", run_id, model, ["weights.bin"]) == number
    assert first.registered_candidates() == ["1.44.0-rc.1"]  # one version, the first


def _twin_wrote_first(
    tracker: MlflowTracker,
    monkeypatch: pytest.MonkeyPatch,
    refusal: str,
    method: str = "log_batch",
) -> list[object]:
    """The tracker's first ``method`` call meets the same write a twin job made a moment
    before, and the store's unique key refuses it (as PostgreSQL did in the race test): the
    race, made to happen every time."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import BAD_REQUEST

    real = getattr(tracker.client, method)
    calls: list[object] = []

    def write(*arguments: object, **keywords: object) -> None:
        calls.append((arguments, keywords))
        real(*arguments, **keywords)  # the first time, the twin's write
        if len(calls) == 1:
            raise MlflowException(refusal, BAD_REQUEST)

    monkeypatch.setattr(tracker.client, method, write)
    return calls


def test_a_batch_a_twin_job_wrote_first_is_read_again_not_failed(
    tracker: MlflowTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _twin_wrote_first(
        tracker,
        monkeypatch,
        "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "
        '"param_pk"',
    )
    run_id = tracker.log_stage(record())
    assert len(calls) == 1  # read again, the run held the batch: nothing left to log
    run = tracker.client.get_run(run_id)
    assert run.data.params["seed"] == "7"
    assert run.data.metrics == {"accuracy": 0.91, "f1": 0.84}
    assert run.info.status == "FINISHED"


def test_a_bad_batch_is_still_a_tracking_error(
    tracker: MlflowTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    _twin_wrote_first(tracker, monkeypatch, "Invalid value for metric 'f1'")
    with pytest.raises(TrackingError) as raised:
        tracker.log_stage(record())
    assert str(raised.value) == (
        f"MLflow at {tracker.target.uri} refused to log a batch: Invalid value for metric 'f1'"
    )


@pytest.mark.parametrize("method", ["set_model_version_tag", "set_registered_model_alias"])
def test_an_alias_a_twin_job_moved_at_the_same_moment_is_moved_not_failed(
    tracker: MlflowTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    tracker.register("1.44.0-rc.1", None, tmp_path, [])
    calls = _twin_wrote_first(
        tracker,
        monkeypatch,
        "BAD_REQUEST: (psycopg2.errors.UniqueViolation) duplicate key value violates unique "
        'constraint "model_version_tag_pk"',
        method,
    )
    tracker.move_alias("candidate", "1.44.0-rc.1", datetime(2026, 12, 7, tzinfo=UTC))
    assert len(calls) >= 2  # the refused write was made again
    assert tracker.alias_target("candidate") == "1.44.0-rc.1"
    assert tracker.alias_at("candidate", datetime(2026, 12, 8, tzinfo=UTC)) == "1.44.0-rc.1"


def test_a_tag_the_store_refuses_for_another_reason_is_a_tracking_error(
    tracker: MlflowTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker.register("1.44.0-rc.1", None, tmp_path, [])
    _twin_wrote_first(tracker, monkeypatch, "Tag value too long", "set_model_version_tag")
    with pytest.raises(TrackingError, match="refused to open the alias period: Tag value too"):
        tracker.move_alias("candidate", "1.44.0-rc.1", datetime(2026, 12, 7, tzinfo=UTC))
