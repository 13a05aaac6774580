"""Which candidates expire under ``retention.candidates`` (keep_last, max_age).

A candidate that never reached production expires when it is older than max_age or not
among the keep_last newest. Never expired: a release, the candidate that became the version
in production, and any version the caller protects (one a release pull request points at).
Failed candidates are cleaned up the same way, but stay failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlops_ci.core.history import HistoryEntry
from mlops_ci.core.versions import Version

_LIVE = ("candidate", "tested", "validated")


@dataclass(frozen=True)
class RetentionDecision:
    version: Version
    expire: bool
    reason: str


def plan_retention(
    history: Sequence[HistoryEntry],
    production: Version,
    *,
    keep_last: int,
    max_age: timedelta,
    now: datetime,
    protected: Mapping[Version, str] | None = None,
) -> list[RetentionDecision]:
    """A decision, with its reason, for every candidate that is live or failed."""
    protected = protected or {}
    # A failed candidate is cleaned up while it still has a tag; then it is done.
    candidates = sorted(
        (
            e
            for e in history
            if e.version.is_candidate and (e.state in _LIVE or (e.state == "failed" and e.tag))
        ),
        key=lambda e: e.version,
        reverse=True,
    )
    decisions = []
    for rank, entry in enumerate(candidates):
        version = entry.version
        age = now - entry.date if entry.date else None
        if version in protected:
            decisions.append(RetentionDecision(version, False, protected[version]))
        elif version.final == production:
            decisions.append(
                RetentionDecision(version, False, "it became the version in production")
            )
        elif rank >= keep_last:
            decisions.append(
                RetentionDecision(version, True, f"not among the {keep_last} newest candidates")
            )
        elif age is not None and age > max_age:
            decisions.append(
                RetentionDecision(
                    version, True, f"{age.days} days old, older than {max_age.days} days"
                )
            )
        else:
            decisions.append(RetentionDecision(version, False, "recent and among the newest"))
    return decisions


@dataclass(frozen=True)
class ImageDeletion:
    """What to do with the image tag of an expired candidate."""

    tag: str
    digest: str
    delete: bool
    reason: str


def plan_image_deletions(
    expired_tags: Sequence[str], digests: Mapping[str, str]
) -> list[ImageDeletion]:
    """Registries delete a manifest, not a tag: every tag on its digest goes with it. An
    expired candidate's image is deleted only when no kept tag (a release, a live
    candidate, an environment) shares its digest. ``digests`` maps every tag to its digest."""
    expired = set(expired_tags)
    kept: dict[str, str] = {}
    for tag, digest in sorted(digests.items()):
        if tag not in expired:
            kept.setdefault(digest, tag)
    plan = []
    for tag in sorted(expired & digests.keys()):
        digest = digests[tag]
        if digest in kept:
            plan.append(
                ImageDeletion(tag, digest, False, f"kept: {kept[digest]} is the same image")
            )
        else:
            plan.append(ImageDeletion(tag, digest, True, "expired"))
    return plan
