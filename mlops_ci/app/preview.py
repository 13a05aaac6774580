"""Uncommitted changes never change a candidate: a candidate is a commit.

With changes in the model's folder that git tracks, a stage on this machine runs as an
untagged preview: its records go to a scratch store of this machine, nothing is tagged,
pushed or sent to MLflow, and its number is the one the next candidate would get. The
records in git (production's metrics above all) are still read. In CI, where a dirty tree
means a step changed the checkout, the stage is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from mlops_ci.app.context import Context
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import UsageError
from mlops_ci.ports import RecordStore


class UncommittedChangesError(UsageError):
    """A stage in CI on a work tree with uncommitted changes."""


def checked_workspace(context: Context, *, in_ci: bool) -> Context:
    """``context`` itself on a clean work tree; a preview's locally; refused in CI."""
    changed = uncommitted_changes(context)
    if not changed:
        return context
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    if in_ci:
        raise UncommittedChangesError(
            f"uncommitted changes in {context.manifest.model.name}'s folder ({shown}): a "
            "candidate is built from a commit, so commit them in the workflow or remove the "
            "step that makes them"
        )
    return replace(
        context,
        store=PreviewStore(context.store, context.scratch),
        tracker=lambda: None,
        preview=(
            f"uncommitted changes ({shown}): an untagged preview; nothing is tagged, pushed or "
            "tracked, and the candidate of this commit stays as it is"
        ),
    )


def uncommitted_changes(context: Context) -> list[str]:
    """The tracked files of the model's folder that differ from HEAD, without what the
    build writes (its artifacts and metrics, in case they are committed)."""
    manifest = context.manifest
    if context.vcs.head() is None:
        return []
    folder = manifest.root.resolve().relative_to(manifest.repository.resolve()).as_posix()
    written = []
    if manifest.build is not None:
        for path in (manifest.build.artifacts, manifest.build.metrics):
            written.append(path.resolve().relative_to(manifest.repository.resolve()).as_posix())
    return [
        path
        for path in context.vcs.uncommitted(folder)
        if not any(path == w or path.startswith(w + "/") for w in written)
    ]


class PreviewStore:
    """The repository's records to read, with a preview's own over them; writes go to the
    preview's scratch store only."""

    def __init__(self, shared: RecordStore, scratch: RecordStore) -> None:
        self.shared = shared
        self.scratch = scratch

    def check_names(self, model: str, version: str, stage: str) -> None:
        self.scratch.check_names(model, version, stage)

    def write(self, record: StageRecord) -> None:
        self.scratch.write(record)

    def write_all(self, records: Sequence[StageRecord]) -> None:
        self.scratch.write_all(records)

    def mark_synced(self, record: StageRecord, run_id: str) -> None:  # pragma: no cover
        self.scratch.mark_synced(record, run_id)  # a preview is never tracked

    def read(self, model: str, version: str, stage: str) -> StageRecord | None:
        return self.scratch.read(model, version, stage) or self.shared.read(model, version, stage)

    def records(self, model: str) -> Iterator[StageRecord]:
        mine = {(r.version, r.stage): r for r in self.scratch.records(model)}
        yield from (r for r in self.shared.records(model) if (r.version, r.stage) not in mine)
        yield from mine.values()
