"""What every use case works with: the manifest, the ports, the state layout."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.app.layout import Layout
from mlops_ci.core.commands import Command, CommandResult
from mlops_ci.core.meters import SILENT
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.manifest.model import Manifest
from mlops_ci.ports import Clock, Meters, ObservationLog, RecordStore, Runner, Tracker, Vcs

REMOTE = "origin"  # where records, tags and release branches are pushed


class StageInputError(MlopsCiError):
    """A stage cannot run: not configured, nothing built yet, unreadable input."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Context:
    """A model's use cases' view of the world. ``tracker`` is made on first use (the
    MLflow client costs a second to import) and is None when tracking is off."""

    manifest: Manifest
    environ: Mapping[str, str]
    layout: Layout
    store: RecordStore
    vcs: Vcs
    tracker: Callable[[], Tracker | None]
    clock: Clock
    runner: Runner
    # Where a preview of uncommitted changes keeps its records (this machine only).
    scratch: RecordStore
    # What monitor saw in production (in git, with the records).
    observations: ObservationLog
    # Why this is a preview, in one line; None for a candidate (a clean work tree).
    preview: str | None = None
    # Whether what the lifecycle writes to git (records, candidate tags) is pushed to origin.
    shares: bool = False
    # Where long steps (a command, a big data file, an image push) show how far they are.
    meters: Meters = SILENT
    # MLflow is told at the command's end, by a sync started with it (cli/deferred_sync),
    # not as each stage goes; ``tracker`` is then only read, and only for history git lacks.
    defers_mirror: bool = False

    def log_path(self, version: str, stage: str) -> Path:
        self.store.check_names(self.manifest.model.name, version, stage)
        return self.layout.log(self.manifest.model.name, version, stage)

    def placeholders(self, version: str) -> dict[str, str]:
        build = self.manifest.build
        return {
            "artifacts": str(build.artifacts) if build else "",
            "metrics": str(build.metrics) if build else "",
            "version": version,
            "name": self.manifest.model.name,
        }

    def command_environment(self, version: str, stage: str) -> dict[str, str]:
        values = self.placeholders(version)
        return {
            **self.environ,
            "MLOPS_CI_MODEL": self.manifest.model.name,
            "MLOPS_CI_VERSION": version,
            "MLOPS_CI_STAGE": stage,
            "MLOPS_CI_ARTIFACTS": values["artifacts"],
            "MLOPS_CI_METRICS": values["metrics"],
        }

    def run(self, what: str, command: Command, version: str, stage: str) -> CommandResult:
        """A manifest command of ``version``'s ``stage``, in the manifest's folder, its
        output in the stage's log."""
        meter = self.meters.start(f"{stage} {version}, {what}")
        try:
            return self.runner.run(
                what,
                command,
                placeholders=self.placeholders(version),
                cwd=self.manifest.root,
                environ=self.command_environment(version, stage),
                log=self.log_path(version, stage),
                meter=meter,
            )
        finally:
            meter.finish()

    def records(self) -> list[StageRecord]:
        return list(self.store.records(self.manifest.model.name))

    def on_history(self, commit: str) -> bool:
        """Whether ``commit`` is in the history checked out (not reset away, not of
        another branch)."""
        head = self.vcs.head()
        return head is not None and self.vcs.is_ancestor(commit, head)

    def save(self, record: StageRecord) -> None:
        """Write the record (the durable truth) first, then tell MLflow and mark it synced;
        a tracking failure after the write leaves the record for `mlops-ci sync`."""
        self.store.write(record)
        self.mirror(record)

    def tracker_to_tell(self) -> Tracker | None:
        """The tracker a stage tells as it goes: none when MLflow is told at the end."""
        return None if self.defers_mirror else self.tracker()

    def mirror(self, record: StageRecord) -> None:
        """Tell MLflow of a written record and mark it synced (nothing without tracking)."""
        tracker = self.tracker_to_tell()
        if tracker is None:
            return
        with records_in_git():
            self.store.mark_synced(record, tracker.log_stage(record))

    def mark_state(self, version: str, state: str) -> None:
        """The candidate's state as a tag on its registered model version; a validated
        one also gets the ``validated`` alias (the newest validated candidate)."""
        tracker = self.tracker_to_tell()
        if tracker is None:
            return
        with records_in_git():
            registered = tracker.tag_version(version, {"mlops-ci.state": state}, missing_ok=True)
            if registered and state == "validated":
                tracker.move_alias("validated", version, self.clock.now())


@contextlib.contextmanager
def records_in_git() -> Iterator[None]:
    """MLflow failing once a record is in git: said so, with how MLflow catches up. Only
    here: MLflow failing before anything was written has nothing to catch up on."""
    try:
        yield
    except ServiceError as error:
        raise type(error)(
            f"{error}; the records are in git: run `mlops-ci sync` when it is back"
        ) from None
