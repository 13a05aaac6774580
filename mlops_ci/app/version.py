"""``version current|next|history``: a model's versions from git tags, records and MLflow,
and the next candidate with the reasons for its number."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from mlops_ci.app.context import Context
from mlops_ci.core.bump import BumpDecision, Commit, decide_bump, diff_signature
from mlops_ci.core.history import (
    HistoryEntry,
    build_history,
    tag_name,
    tagged_versions,
)
from mlops_ci.core.records import StageRecord
from mlops_ci.core.signature import Signature
from mlops_ci.core.versions import (
    Version,
    next_candidate,
    next_release,
    parse_version,
    try_parse_version,
)
from mlops_ci.errors import ManifestError
from mlops_ci.manifest.loader import manifest_from_bytes
from mlops_ci.manifest.model import Manifest
from mlops_ci.ports import Vcs


@dataclass(frozen=True)
class CurrentVersion:
    model: str
    version: Version
    tag: str
    tagged: bool


def current_version(context: Context) -> CurrentVersion:
    """The version in production, and whether its release tag exists."""
    manifest = context.manifest
    version = production_version(manifest)
    tag = tag_name(manifest.versioning.tag, manifest.model.name, version)
    tagged = any(t.name == tag for t in context.vcs.tags())
    return CurrentVersion(manifest.model.name, version, tag, tagged)


def next_version(context: Context) -> NextVersion:
    """The next candidate, numbered past every one in tags, records and the tracker."""
    tracker = context.tracker()
    registered = tracker.registered_candidates() if tracker is not None else []
    return plan_next(
        context.manifest, context.vcs, context.records(), registered, context.clock.now().date()
    )


def version_history(context: Context) -> list[HistoryEntry]:
    return history(context.manifest, context.vcs, context.records())


@dataclass(frozen=True)
class NextVersion:
    production: Version
    release: Version
    candidate: Version
    tag: str
    decision: BumpDecision
    commits: tuple[Commit, ...]


def production_version(manifest: Manifest) -> Version:
    return parse_version(manifest.model.version, manifest.versioning.scheme)


def history(manifest: Manifest, git: Vcs, records: Iterable[StageRecord]) -> list[HistoryEntry]:
    scheme = manifest.versioning.scheme
    tagged = tagged_versions(git.tags(), manifest.versioning.tag, manifest.model.name, scheme)
    return build_history(production_version(manifest), tagged, records, scheme)


def plan_next(
    manifest: Manifest,
    git: Vcs,
    records: Sequence[StageRecord],
    registered: Iterable[str],
    today: date,
) -> NextVersion:
    """The next candidate: its release bumped as ``versioning.bump`` says (with reasons),
    numbered past every candidate of that release in git tags, records and MLflow."""
    scheme = manifest.versioning.scheme
    production = production_version(manifest)
    tags = git.tags()
    production_tag = tag_name(manifest.versioning.tag, manifest.model.name, production)
    released_at = next((tag for tag in tags if tag.name == production_tag), None)
    folder = manifest.root.relative_to(manifest.repository).as_posix()
    commits = git.commits(
        released_at.name if released_at else None, [folder] if folder != "." else []
    )
    change = diff_signature(
        _production_signature(manifest, git, released_at.name if released_at else None),
        manifest.model.signature,
    )
    decision = decide_bump(manifest.versioning.bump, change, commits)
    release = next_release(production, decision.level, today)
    seen = [
        version
        for version, _ in tagged_versions(
            tags, manifest.versioning.tag, manifest.model.name, scheme
        )
    ]
    seen += [v for v in (try_parse_version(r.version, scheme) for r in records) if v]
    seen += [v for v in (try_parse_version(text, scheme) for text in registered) if v]
    candidate = next_candidate(release, seen)
    return NextVersion(
        production=production,
        release=release,
        candidate=candidate,
        tag=tag_name(manifest.versioning.tag, manifest.model.name, candidate),
        decision=decision,
        commits=tuple(commits),
    )


def _production_signature(manifest: Manifest, git: Vcs, tag: str | None) -> Signature | None:
    """The signature in the manifest as it was released, or the current one when there is
    nothing to compare against (no release tag, no manifest there, or one that no longer
    loads): no change is better than a made-up one."""
    if tag is None:
        return manifest.model.signature
    relative = manifest.path.resolve().relative_to(manifest.repository).as_posix()
    raw = git.show(tag, relative)
    if raw is None:
        return manifest.model.signature
    try:
        released = manifest_from_bytes(raw, f"{tag}:{relative}", manifest.path, manifest.repository)
    except ManifestError:
        return manifest.model.signature
    return released.model.signature
