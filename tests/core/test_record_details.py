"""A record's details read as typed values, with malformed entries left out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops_ci.core.gates import GateResult
from mlops_ci.core.record_details import (
    DataSetFingerprint,
    recorded_data_sets,
    recorded_files,
    recorded_gates,
)
from mlops_ci.core.records import StageRecord

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def record(details: dict[str, Any]) -> StageRecord:
    return StageRecord(
        model="m",
        version="1.0.0-rc.1",
        stage="build",
        verdict="passed",
        state="candidate",
        started_at=WHEN,
        finished_at=WHEN,
        details=details,
    )


def test_files_are_read_and_malformed_entries_skipped() -> None:
    files = [{"path": "a.bin", "sha256": "ab", "size": 1}, {"path": "b"}, "x"]
    assert recorded_files(record({"files": files})) == {"a.bin": "ab"}
    assert recorded_files(record({"files": "no"})) == {}


def test_gates_round_trip_through_their_json() -> None:
    gates = (
        GateResult("accuracy", "min", 0.9, 0.93, "passed", "ok", production=0.92),
        GateResult("p95_ms", "max", 25.0, None, "failed", "p95_ms was not measured"),
    )
    written = record({"gates": [g.to_json() for g in gates]})
    assert recorded_gates(written) == gates


def test_gates_of_another_shape_are_left_out() -> None:
    bad = [
        {"name": "x", "rule": "min", "threshold": "high", "verdict": "passed"},
        {"name": "y", "rule": "min", "threshold": 1, "verdict": "great"},
        {"name": "z", "rule": "min", "threshold": float("nan"), "verdict": "passed"},
        "not a gate",
    ]
    assert recorded_gates(record({"gates": bad})) == ()
    assert recorded_gates(record({})) == ()


def test_data_sets_are_read_from_ingest_details() -> None:
    data = [
        {
            "name": "train",
            "rows": 10,
            "fingerprint": {"blake3": "b3", "schema_sha256": "s2", "bytes": 5},
            "checks": [],
        },
        {"name": "no fingerprint", "rows": 1},
    ]
    assert recorded_data_sets(record({"data": data})) == (
        DataSetFingerprint("train", 10, "b3", "s2"),
    )
