"""What the code host (GitHub) holds that the use cases read: pull requests and issues."""

from __future__ import annotations

from collections.abc import Iterable
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


@dataclass(frozen=True)
class ReviewRequest:
    """Who a pull request asks to review, as GitHub takes them: logins (no ``@``) and the
    slugs of teams of the repository's organisation. ``elsewhere``: teams of another
    organisation, which GitHub cannot ask (named in a warning)."""

    users: tuple[str, ...]
    teams: tuple[str, ...]
    elsewhere: tuple[str, ...] = ()


def review_request(names: Iterable[str], organisation: str) -> ReviewRequest:
    """``names`` as a manifest writes them (``@octocat``, ``octocat``, ``@acme/ml-team``,
    ``acme/ml-team``), each once, in their order."""
    users: list[str] = []
    teams: list[str] = []
    elsewhere: list[str] = []
    for name in names:
        bare = name.removeprefix("@")
        owner, slash, team = bare.partition("/")
        if not slash:
            found, item = users, bare
        elif owner.lower() == organisation.lower():
            found, item = teams, team
        else:
            found, item = elsewhere, bare
        if item.lower() not in {known.lower() for known in found}:
            found.append(item)
    return ReviewRequest(tuple(users), tuple(teams), tuple(elsewhere))
