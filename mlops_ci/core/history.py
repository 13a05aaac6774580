"""A model's history: every release and candidate, from git tags and stage records.

Tags named by ``versioning.tag`` (``{name}@{version}`` by default) say which versions exist
and at which commit; records say how far each candidate got. Pure: the tags and records are
passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mlops_ci.core.lifecycle import State
from mlops_ci.core.records import StageRecord
from mlops_ci.core.versions import Scheme, Version, try_parse_version


class TagLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def commit(self) -> str: ...
    @property
    def date(self) -> datetime: ...


@dataclass(frozen=True)
class Tag:
    """A git tag: its name, the commit it points at (peeled) and when it was made."""

    name: str
    commit: str
    date: datetime


@dataclass(frozen=True)
class HistoryEntry:
    version: Version
    state: State
    date: datetime | None
    commit: str | None
    tag: str | None
    image_digest: str | None = None


def tag_name(template: str, name: str, version: Version | str) -> str:
    return template.replace("{name}", name).replace("{version}", str(version))


def tag_pattern(template: str, name: str) -> re.Pattern[str]:
    """A pattern that matches the tags ``template`` makes for model ``name``."""
    pattern = ""
    for part in re.split(r"(\{name\}|\{version\})", template):
        if part == "{name}":
            pattern += re.escape(name)
        elif part == "{version}":
            pattern += r"(?P<version>[0-9][0-9A-Za-z.+-]*)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


def tagged_versions(
    tags: Iterable[TagLike], template: str, name: str, scheme: Scheme
) -> list[tuple[Version, TagLike]]:
    """The model's versions among ``tags``; tags of other models or schemes are skipped."""
    pattern = tag_pattern(template, name)
    found = []
    for tag in tags:
        match = pattern.match(tag.name)
        version = try_parse_version(match["version"], scheme) if match else None
        if version is not None:
            found.append((version, tag))
    return found


def build_history(
    production: Version,
    tagged: Sequence[tuple[Version, TagLike]],
    records: Iterable[StageRecord],
    scheme: Scheme,
) -> list[HistoryEntry]:
    """Every version, newest first. A release is released; a candidate is in the state of
    its latest record, or ``candidate`` when only its tag is known."""
    by_version: dict[Version, list[StageRecord]] = {}
    for record in records:
        version = try_parse_version(record.version, scheme)
        if version is not None:
            by_version.setdefault(version, []).append(record)
    tags = dict(tagged)
    versions = set(tags) | set(by_version) | {production}
    entries = []
    for version in sorted(versions, reverse=True):
        stage_records = sorted(by_version.get(version, []), key=lambda r: r.finished_at)
        tag = tags.get(version)
        state: State = (
            "released"
            if not version.is_candidate
            else (stage_records[-1].state if stage_records else "candidate")
        )
        digests = [r.image_digest for r in stage_records if r.image_digest]
        entries.append(
            HistoryEntry(
                version=version,
                state=state,
                date=tag.date if tag else (stage_records[0].started_at if stage_records else None),
                commit=tag.commit
                if tag
                else next((r.git_sha for r in stage_records if r.git_sha), None),
                tag=tag.name if tag else None,
                image_digest=digests[-1] if digests else None,
            )
        )
    return entries
