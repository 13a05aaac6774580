"""A record's details read as typed values: the gates a stage ran, the data sets ingest
fingerprinted, the files a build made. Details are untrusted JSON (a record comes from a
remote through git, written by any job or by hand): an entry that is not of the expected
shape is left out rather than guessed at."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.gates import GateResult
from mlops_ci.core.records import VERDICTS, StageRecord


@dataclass(frozen=True)
class DataSetFingerprint:
    """What ingest recorded of one data set: its name, rows and fingerprints."""

    name: str
    rows: int
    blake3: str
    schema_sha256: str


def recorded_gates(record: StageRecord) -> tuple[GateResult, ...]:
    """The gates a stage record holds, as it wrote them (``GateResult.to_json``)."""
    return tuple(
        gate for gate in map(_gate, _entries(record.details.get("gates"))) if gate is not None
    )


def recorded_data_sets(record: StageRecord) -> tuple[DataSetFingerprint, ...]:
    """The data sets an ingest record fingerprinted."""
    found = []
    for entry in _entries(record.details.get("data")):
        fingerprint = entry.get("fingerprint")
        if not isinstance(fingerprint, Mapping):
            continue
        rows = entry.get("rows")
        found.append(
            DataSetFingerprint(
                name=str(entry.get("name", "")),
                rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else 0,
                blake3=str(fingerprint.get("blake3") or ""),  # a table has none
                schema_sha256=str(fingerprint.get("schema_sha256", "")),
            )
        )
    return tuple(found)


def recorded_files(record: StageRecord) -> dict[str, str]:
    """The files a build record lists, path to sha256 (what its image must ship); entries
    that are not a path with a digest (a hand-edited record) are left out."""
    files = record.details.get("files")
    return {
        str(entry["path"]): str(entry["sha256"])
        for entry in (files if isinstance(files, list) else [])
        if isinstance(entry, dict) and "path" in entry and "sha256" in entry
    }


def _entries(value: object) -> list[Mapping[str, Any]]:
    return (
        [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []
    )


def _gate(entry: Mapping[str, Any]) -> GateResult | None:
    verdict = entry.get("verdict")
    threshold = _number(entry.get("threshold"))
    if verdict not in VERDICTS or threshold is None:
        return None
    return GateResult(
        name=str(entry.get("name", "")),
        rule=str(entry.get("rule", "")),
        threshold=threshold,
        value=_number(entry.get("value")),
        verdict=verdict,
        message=str(entry.get("message", "")),
        production=_number(entry.get("production")),
    )


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
