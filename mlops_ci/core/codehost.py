"""What the code host (GitHub) holds that the use cases read: pull requests and issues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Issue:
    number: int
    url: str
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    title: str
    body: str
    head: str
    base: str
    state: str
    merged: bool
    merge_commit_sha: str | None
    labels: tuple[str, ...]
