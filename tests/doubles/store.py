"""The record store and the tracker in memory."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from mlops_ci.core.observations import Observation
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import ExitStatus, MlopsCiError

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class MemoryStoreError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


class MemoryRecordStore:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str, str], StageRecord] = {}
        self.observed: list[Observation] = []
        self.observations_told: dict[str, set[datetime]] = {}

    def check_names(self, model: str, version: str, stage: str) -> None:
        for part in (model, version, stage):
            if not _SAFE_PART.match(part) or ".." in part:
                raise MemoryStoreError(f"{part!r} cannot name a record file")

    def write(self, record: StageRecord) -> None:
        self.check_names(record.model, record.version, record.stage)
        self.saved[(record.model, record.version, record.stage)] = record

    def write_all(self, records: Sequence[StageRecord]) -> None:
        for record in records:
            self.write(record)

    def mark_synced(self, record: StageRecord, run_id: str) -> None:
        key = (record.model, record.version, record.stage)
        self.saved[key] = self.saved[key].synced_as(run_id)

    def read(self, model: str, version: str, stage: str) -> StageRecord | None:
        self.check_names(model, version, stage)
        return self.saved.get((model, version, stage))

    def records(self, model: str) -> Iterator[StageRecord]:
        yield from (r for (m, _, _), r in sorted(self.saved.items()) if m == model)

    # The ObservationLog port: the records' store keeps what monitor saw, as git's does.

    def add_observation(self, observation: Observation) -> None:
        self.observed.append(observation)

    def observations(self, model: str, limit: int) -> list[Observation]:
        mine = sorted((o for o in self.observed if o.model == model), key=lambda o: o.at)
        return mine[::-1][:limit] if limit > 0 else []

    def unsynced_observations(self, model: str) -> list[Observation]:
        told = self.observations_told.get(model, set())
        return [o for o in self.observations(model, 10_000)[::-1] if o.at not in told]

    def mark_observations_synced(self, model: str, moments: Iterable[datetime]) -> None:
        self.observations_told.setdefault(model, set()).update(moments)


@dataclass
class RegisteredVersion:
    number: str
    version: str
    source: str
    tags: dict[str, str] = field(default_factory=dict)


class MemoryTracker:
    """MLflow in memory: one run per (model, version, stage, commit), as the real one."""

    def __init__(self) -> None:
        self.runs: dict[str, StageRecord] = {}
        self.registered: list[RegisteredVersion] = []
        self.stored: dict[str, int] = {}  # the bytes of each candidate's model files kept
        self.aliases: dict[str, str] = {}  # alias -> model version number
        self.alias_moves: list[tuple[str, str, datetime]] = []
        self.logged_observations: list[Observation] = []

    def log_stage(self, record: StageRecord) -> str:
        for run_id, logged in self.runs.items():
            same = (logged.model, logged.version, logged.stage, logged.git_sha)
            if same == (record.model, record.version, record.stage, record.git_sha):
                self.runs[run_id] = replace(record, mlflow_run_id=run_id, synced=True)
                return run_id
        run_id = f"run{len(self.runs) + 1}"
        self.runs[run_id] = replace(record, mlflow_run_id=run_id, synced=True)
        return run_id

    def stage_records(self, model: str, limit: int = 20_000) -> list[StageRecord]:
        found = [replace(r, details={}) for r in self.runs.values() if r.model == model]
        return found[:limit]

    def stage_metrics(self, model: str, version: str, stage: str) -> dict[str, float] | None:
        for record in self.runs.values():
            if (record.model, record.version, record.stage) == (model, version, stage):
                return dict(record.metrics)
        return None

    def built_at(self, model: str, git_sha: str) -> list[str]:
        builds = [
            r
            for r in self.runs.values()
            if r.model == model
            and r.git_sha == git_sha
            and r.stage == "build"
            and r.verdict == "passed"
        ]
        return [r.version for r in sorted(builds, key=lambda r: r.started_at, reverse=True)]

    def log_observation(self, observation: Observation) -> str:
        self.logged_observations.append(observation)
        return f"observation{len(self.logged_observations)}"

    def observations(
        self, model: str, limit: int, since: datetime | None = None
    ) -> list[Observation]:
        mine = [
            o
            for o in self.logged_observations
            if o.model == model and (since is None or o.at >= since)
        ]
        return sorted(mine, key=lambda o: o.at, reverse=True)[:limit]

    def register(
        self,
        version: str,
        run_id: str | None,
        model: Path,
        files: Sequence[str],
        tags: Mapping[str, str] | None = None,
    ) -> str:
        existing = self.model_version_of(version)
        if existing is not None:
            return existing
        number = str(len(self.registered) + 1)
        source = f"runs:/{run_id}/model" if run_id else model.as_uri()
        if run_id:  # copied into the artifact store, as MLflow does
            self.stored[version] = sum(
                (model / f).stat().st_size for f in files if (model / f).is_file()
            )
        self.registered.append(RegisteredVersion(number, version, source, dict(tags or {})))
        return number

    def model_version_of(self, version: str) -> str | None:
        return next((r.number for r in self.registered if r.version == version), None)

    def registered_candidates(self) -> list[str]:
        return [r.version for r in self.registered]

    def delete_stored_model(self, version: str) -> int:
        return self.stored.pop(version, 0)

    def tag_version(
        self, version: str, tags: Mapping[str, str], *, missing_ok: bool = False
    ) -> bool:
        found = next((r for r in self.registered if r.version == version), None)
        if found is None:
            if missing_ok:
                return False
            raise MemoryStoreError(f"{version} is not registered")
        found.tags.update(tags)
        return True

    def move_alias(self, alias: str, version: str, when: datetime) -> None:
        number = self.model_version_of(version)
        if number is None:
            raise MemoryStoreError(f"{version} is not registered; register it first")
        if self.aliases.get(alias) != number:
            self.aliases[alias] = number
            self.alias_moves.append((alias, version, when))

    def alias_target(self, alias: str) -> str | None:
        number = self.aliases.get(alias)
        return next((r.version for r in self.registered if r.number == number), None)

    def state_of(self, version: str) -> str | None:
        found = next((r for r in self.registered if r.version == version), None)
        return found.tags.get("mlops-ci.state") if found else None
