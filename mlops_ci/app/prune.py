"""``prune``: candidates expired under ``retention.candidates``, their tags deleted, and what
the tool stored of them freed: their logs and image state under ``.mlops-ci`` and their
images in the registry here, their model files in MLflow's artifact store by the sync that
replays the expire records (MLflow is not imported here: it costs seconds)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mlops_ci.app.context import Context
from mlops_ci.app.image import ImageTools
from mlops_ci.app.version import history, production_version
from mlops_ci.core.aliases import release_alias_targets, stage_alias_targets
from mlops_ci.core.history import tag_name
from mlops_ci.core.image_reference import parse_reference, registry_tag
from mlops_ci.core.lifecycle import State, advance
from mlops_ci.core.records import EXPIRED, StageRecord
from mlops_ci.core.retention import (
    ImageDeletion,
    RetentionDecision,
    plan_image_deletions,
    plan_retention,
)
from mlops_ci.core.versions import Version, parse_version
from mlops_ci.manifest.model import Manifest


@dataclass(frozen=True)
class Freed:
    """What an expired candidate's stored files take (freed, or to free in a dry run)."""

    version: str
    # Bytes of its model files in MLflow's artifact store that the sync is to free, as its
    # build recorded them (0 once a sync has freed them, or without tracking).
    mlflow: int
    local: int  # bytes of its logs and image state under .mlops-ci


@dataclass(frozen=True)
class Pruned:
    plan: tuple[RetentionDecision, ...]
    images: ImagePruning | None
    freed: tuple[Freed, ...] = ()


def prune(
    context: Context,
    *,
    dry_run: bool,
    remote: str | None,
    tools: ImageTools | None,
    tracked: bool = False,
) -> Pruned:
    """Expire what retention says; with ``tools``, delete the expired candidates' images.
    The version in production and any candidate an alias points at (as git's records say)
    are kept. ``tracked``: MLflow holds the candidates' model files, for the sync to free."""
    manifest = context.manifest
    records = context.records()
    entries = history(manifest, context.vcs, records)
    now = context.clock.now()
    plan = plan_retention(
        entries,
        production_version(manifest),
        keep_last=manifest.retention.keep_last,
        max_age=manifest.retention.max_age,
        now=now,
        protected=_protected(manifest, records),
    )
    if not dry_run:
        states = {entry.version: entry.state for entry in entries}
        for decision in plan:
            if decision.expire:
                _expire(context, decision, states[decision.version], now=now, remote=remote)
        records = context.records()
    # This run's and earlier ones' (a run stopped half-way is finished by the next).
    expired = {r.version for r in records if r.stage == EXPIRED}
    expired |= {str(e.version) for e in entries if e.state == "expired"}
    expired |= {str(d.version) for d in plan if d.expire}
    to_free = _mlflow_bytes(records, expired) if tracked else {}
    freed = [
        _free(context, version, to_free.get(version, 0), dry_run=dry_run)
        for version in sorted(expired)
    ]
    images = None
    repository = _registry_repository(context)
    if repository and tools is not None:
        images = prune_images(repository, expired, tools, dry_run=dry_run)
    return Pruned(tuple(plan), images, tuple(f for f in freed if f.mlflow or f.local))


def _free(context: Context, version: str, mlflow: int, *, dry_run: bool) -> Freed:
    """An expired candidate's files under .mlops-ci, deleted unless ``dry_run``; its records
    stay (they are its history, and small)."""
    model = context.manifest.model.name
    local = [context.log_path(version, "build").parent, context.layout.image(model, version)]
    size = sum(_bytes_under(path) for path in local)
    if not dry_run:
        for path in local:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    return Freed(version, mlflow, size)


def _mlflow_bytes(records: Sequence[StageRecord], expired: set[str]) -> dict[str, int]:
    """The bytes of model files MLflow holds of each ``expired`` candidate until a sync
    sends its expire record: the size its passed build recorded (a build's files are
    registered with it by the sync that sends the build)."""
    freed_by_sync = {r.version for r in records if r.stage == EXPIRED and r.synced}
    sizes = {}
    for record in records:
        size = record.details.get("size")
        if (
            record.stage == "build"
            and record.verdict == "passed"
            and record.version in expired - freed_by_sync
            and isinstance(size, int)
            and not isinstance(size, bool)
            and size > 0
        ):
            sizes[record.version] = size
    return sizes


def _bytes_under(path: Path) -> int:
    """The bytes of a file, or of the files below a folder (links not followed)."""
    if path.is_symlink() or not path.exists():
        return 0
    if not path.is_dir():
        return path.stat().st_size
    return sum(
        (Path(folder) / name).lstat().st_size
        for folder, _, names in os.walk(path)
        for name in names
    )


def _protected(manifest: Manifest, records: Sequence[StageRecord]) -> dict[Version, str]:
    """The candidates the tool's aliases point at, as git's records moved them (the sync
    also keeps the files of one an alias was moved to in MLflow by hand)."""
    protected: dict[Version, str] = {}
    for target in (*stage_alias_targets(records), *release_alias_targets(records)):
        try:
            version = parse_version(target.version, manifest.versioning.scheme)
        except ValueError:  # a hand-edited record naming no version of this scheme
            continue
        protected.setdefault(version, f"the alias {target.alias!r} points at it")
    return protected


def _registry_repository(context: Context) -> str | None:
    release = context.manifest.release
    image = release.image if release else None
    if image is None or image.repository.startswith("oci:"):
        return None
    return image.repository


def _expire(
    context: Context,
    decision: RetentionDecision,
    state: State,
    *,
    now: datetime,
    remote: str | None,
) -> None:
    """Expire one candidate: the record first (the durable truth, and what tells the sync to
    free its files in MLflow), then its tags."""
    manifest = context.manifest
    version = str(decision.version)
    context.store.write(
        StageRecord(
            model=manifest.model.name,
            version=version,
            stage=EXPIRED,
            verdict="passed",
            # A failed candidate stays failed; its record still says it was expired.
            state=state if state == "failed" else advance(version, state, "expired"),
            started_at=now,
            finished_at=now,
            details={"reason": decision.reason},
        )
    )
    tag = tag_name(manifest.versioning.tag, manifest.model.name, version)
    if any(t.name == tag for t in context.vcs.tags()):
        context.vcs.delete_tag(tag)
    if remote:
        context.vcs.delete_remote_tag(remote, tag)


@dataclass(frozen=True)
class ImagePruning:
    decisions: tuple[ImageDeletion, ...]
    deleted: tuple[str, ...]
    deletes_refused: bool
    # The bytes of the layers and configs only the images to delete use: what the
    # registry frees (when it next collects its garbage).
    freed: int = 0


def prune_images(
    repository: str, expired_versions: Iterable[str], tools: ImageTools, *, dry_run: bool
) -> ImagePruning:
    """Deletes the registry images of expired candidates (see plan_image_deletions); a
    registry that does not allow deletes is reported, not an error."""
    reference = parse_reference(repository)
    registry = tools.registry(reference)
    tags = registry.tags(reference.repository)
    expired = {registry_tag(version) for version in expired_versions} & set(tags)
    if not expired:
        return ImagePruning((), (), deletes_refused=False)
    digests = {}
    for tag in tags:
        digest = registry.manifest_digest(reference.repository, tag)
        if digest is not None:
            digests[tag] = digest
    plan = plan_image_deletions(sorted(expired), digests)
    going = {d.digest for d in plan if d.delete}
    blobs = {
        digest: _blob_sizes(registry.get_manifest(reference.repository, digest)[0])
        for digest in set(digests.values())
    }
    kept = {blob for digest, sizes in blobs.items() if digest not in going for blob in sizes}
    only_theirs = {
        blob: size for digest in going for blob, size in blobs[digest].items() if blob not in kept
    }
    deleted: list[str] = []
    refused = False
    for decision in plan:
        if not decision.delete or dry_run:
            continue
        if not registry.delete_manifest(reference.repository, decision.digest):
            refused = True
            break
        deleted.append(decision.tag)
    return ImagePruning(
        tuple(plan), tuple(deleted), deletes_refused=refused, freed=sum(only_theirs.values())
    )


def _blob_sizes(manifest: bytes) -> dict[str, int]:
    """The config and layers an image manifest names, with their sizes (the registry's
    answer, so anything unexpected counts as nothing rather than failing the prune)."""
    try:
        data = json.loads(manifest)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    found = {}
    for descriptor in [data.get("config"), *(data.get("layers") or [])]:
        if isinstance(descriptor, dict):
            digest, size = descriptor.get("digest"), descriptor.get("size")
            if isinstance(digest, str) and isinstance(size, int) and size >= 0:
                found[digest] = size
    return found
