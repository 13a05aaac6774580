"""Records an mlops-ci before records lived in git kept as files (``.mlops-ci/records``):
moved into git once, so a repository that used it keeps its history and production's
metrics."""

from __future__ import annotations

import logging
from pathlib import Path

from mlops_ci.core.records import StageRecord
from mlops_ci.errors import MlopsCiError
from mlops_ci.ports import RecordStore

log = logging.getLogger(__name__)

IMPORTED = "records.imported-into-git"  # the old folder's name once it is moved


def import_local_records(folder: Path, files: RecordStore, git: RecordStore) -> int:
    """Writes every readable record of ``folder`` (read through ``files``) into ``git``
    in one commit, keeps which MLflow had, then renames the folder (kept, not deleted:
    nothing is lost, and an unreadable file is still there to look at). The records moved."""
    found: list[StageRecord] = []
    for model in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        try:
            found += list(files.records(model))
        except MlopsCiError as error:
            log.warning("not moved into git: %s", error)
    if found:
        git.write_all(found)
    for record in found:
        if record.synced and record.mlflow_run_id:
            git.mark_synced(record, record.mlflow_run_id)
    folder.rename(folder.with_name(IMPORTED))
    if found:
        log.warning(
            "moved %d records from %s into git (refs/mlops-ci/records); the old folder is now %s",
            len(found),
            folder,
            IMPORTED,
        )
    return len(found)
