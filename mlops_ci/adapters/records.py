"""Records as files, one JSON file per stage under ``<root>/<model>/<version>/``: where a
preview of uncommitted changes keeps its records (``.mlops-ci/preview/records``), on this
machine only; the repository's own records live in git (``git_records``).

A record is written whole or not at all: into a temporary file beside it, flushed to disk,
then renamed over the old one. Writers of one version take an exclusive lock on its folder,
so two processes never interleave a read-modify-write; readers need no lock, since a rename
is atomic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlops_ci.core.records import RecordFormatError, StageRecord, record_from_json
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.files.atomic import write_atomically
from mlops_ci.files.locks import held_lock

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_LOCK = ".lock"


class RecordStoreError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


class RecordStore:
    """The RecordStore port: record files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check_names(self, model: str, version: str, stage: str) -> None:
        """Refuses names that could not name a record file."""
        self.path(model, version, stage)

    def path(self, model: str, version: str, stage: str) -> Path:
        for part in (model, version, stage):
            # Names come from manifests and tags: never let one climb out of the store.
            if not _SAFE_PART.match(part) or ".." in part:
                raise RecordStoreError(f"{part!r} cannot name a record file")
        return self.root / model / version / f"{stage}.json"

    def write(self, record: StageRecord) -> None:
        target = self.path(record.model, record.version, record.stage)
        with held_lock(target.parent / _LOCK):
            _write_atomically(target, record.to_json())

    def write_all(self, records: Sequence[StageRecord]) -> None:
        for record in records:
            self.write(record)

    def mark_synced(self, record: StageRecord, run_id: str) -> None:
        target = self.path(record.model, record.version, record.stage)
        with held_lock(target.parent / _LOCK):
            _write_atomically(target, self._read_file(target).synced_as(run_id).to_json())

    def read(self, model: str, version: str, stage: str) -> StageRecord | None:
        target = self.path(model, version, stage)
        return self._read_file(target) if target.exists() else None

    def records(self, model: str) -> Iterator[StageRecord]:
        """Every record of ``model``, in no particular order; unreadable files raise."""
        folder = self.root / model
        if not folder.is_dir():
            return
        for file in sorted(folder.glob("*/*.json")):
            yield self._read_file(file)

    def _read_file(self, file: Path) -> StageRecord:
        try:
            return record_from_json(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError, RecordFormatError) as error:
            raise RecordStoreError(
                f"{file}: not a readable record ({error}); delete it (a preview's records are "
                "made again by the next preview)"
            ) from None


def _write_atomically(target: Path, data: object) -> None:
    write_atomically(target, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
