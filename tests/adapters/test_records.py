"""The file record store (a preview's): whole files only, safe under two processes, strict
about names."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mlops_ci.adapters.records import RecordStore, RecordStoreError
from mlops_ci.core.records import StageRecord, record_from_json
from tests.conftest import PROJECT

SCHEMA = json.loads((PROJECT / "schemas" / "record.schema.json").read_text())
WHEN = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def record(stage: str = "build", **changes: object) -> StageRecord:
    values: dict[str, object] = {
        "model": "churn",
        "version": "1.44.0-rc.1",
        "stage": stage,
        "verdict": "passed",
        "state": "candidate",
        "started_at": WHEN,
        "finished_at": WHEN,
        "git_sha": "a" * 40,
        "metrics": {"accuracy": 0.91},
        "params": {"seed": "7"},
    }
    values.update(changes)
    return StageRecord(**values)  # type: ignore[arg-type]


def test_write_read_round_trip_matches_the_schema(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.write(record())
    path = store.path("churn", "1.44.0-rc.1", "build")
    assert path == tmp_path / "churn" / "1.44.0-rc.1" / "build.json"
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(
        json.loads(path.read_text())
    )
    assert store.read("churn", "1.44.0-rc.1", "build") == record()
    assert store.read("churn", "1.44.0-rc.1", "test") is None
    assert list(store.records("churn")) == [record()]
    assert list(store.records("other")) == []


def test_mark_synced_marks_a_record_synced(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.write(record())
    store.mark_synced(record(), "run-1")
    stored = store.read("churn", "1.44.0-rc.1", "build")
    assert stored is not None
    assert (stored.mlflow_run_id, stored.synced) == ("run-1", True)


@pytest.mark.parametrize("bad", ["../../etc", "..", "a/b", ""])
def test_names_cannot_leave_the_store(tmp_path: Path, bad: str) -> None:
    with pytest.raises(RecordStoreError, match="cannot name a record file"):
        RecordStore(tmp_path).path("churn", bad, "build")


def test_a_corrupt_record_is_named_with_what_to_do(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.write(record())
    path = store.path("churn", "1.44.0-rc.1", "build")
    path.write_text('{"schema": "mlops-ci/record/v1", "model": ')
    with pytest.raises(RecordStoreError, match=r"not a readable record .* delete it"):
        store.read("churn", "1.44.0-rc.1", "build")


def test_untrusted_record_fields_are_checked() -> None:
    data = record().to_json()
    data["state"] = "shipped"
    with pytest.raises(ValueError, match="unknown verdict"):
        record_from_json(data)
    data = record().to_json()
    data["metrics"] = {"accuracy": "high"}
    with pytest.raises(ValueError, match="malformed"):
        record_from_json(data)


def _writer(root: str, worker: int, count: int) -> None:
    store = RecordStore(Path(root))
    for index in range(count):
        store.write(record(metrics={"worker": worker, "index": index}))
        store.mark_synced(record(), f"run-{worker}")


def test_two_processes_never_leave_a_half_written_record(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.write(record())
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(str(tmp_path), w, 150)) for w in (1, 2)]
    for writer in writers:
        writer.start()
    reads = 0
    while any(writer.is_alive() for writer in writers):
        assert store.read("churn", "1.44.0-rc.1", "build") is not None  # always whole
        reads += 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert reads > 0
    leftovers = [p.name for p in (tmp_path / "churn" / "1.44.0-rc.1").iterdir()]
    assert sorted(leftovers) == [".lock", "build.json"]
