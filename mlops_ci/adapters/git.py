"""Git, through the git command: tags, commits and the files of past commits.

One ``git for-each-ref`` lists every tag with its commit and date, so a repository with
thousands of tags is read in one process start.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mlops_ci.core.bump import Commit
from mlops_ci.errors import ExitStatus, MlopsCiError

_FIELD = "\x1f"
_RECORD = "\x1e"


class GitError(MlopsCiError):
    """git is missing, the folder is not a repository, or a git command failed."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Tag:
    name: str
    commit: str
    date: datetime


class Git:
    """A work tree, read with the git command line."""

    def __init__(self, work_tree: Path) -> None:
        self.work_tree = work_tree

    def run(self, *arguments: str, check: bool = True) -> str:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.work_tree), *arguments],
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed; install it (apt-get install git)") from None
        if check and result.returncode != 0:
            problem = result.stderr.strip().splitlines()
            raise GitError(
                f"git {arguments[0]} failed in {self.work_tree}: "
                f"{problem[-1] if problem else 'exit ' + str(result.returncode)}"
            )
        return result.stdout

    def head(self) -> str | None:
        """The commit checked out, or None in a repository with no commit yet."""
        output = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return output.strip() or None

    def tags(self) -> list[Tag]:
        """Every tag, with the commit it points at (annotated tags peeled) and its date."""
        output = self.run(
            "for-each-ref",
            f"--format=%(refname:strip=2){_FIELD}%(objectname){_FIELD}%(*objectname)"
            f"{_FIELD}%(creatordate:iso-strict){_RECORD}",
            "refs/tags",
        )
        tags = []
        for record in output.split(_RECORD):
            fields = record.strip("\n").split(_FIELD)
            if len(fields) != 4:
                continue
            name, target, peeled, created = fields
            tags.append(Tag(name, peeled or target, datetime.fromisoformat(created)))
        return tags

    def commits(self, since: str | None, paths: Sequence[str] = ()) -> list[Commit]:
        """Commits after ``since`` (a tag or commit; None for all) up to HEAD that touched
        ``paths``, newest first."""
        if self.head() is None:
            return []
        span = f"{since}..HEAD" if since else "HEAD"
        output = self.run("log", f"--format=%H{_FIELD}%B{_RECORD}", span, "--", *paths)
        commits = []
        for record in output.split(_RECORD):
            sha, _, message = record.strip("\n").partition(_FIELD)
            if sha:
                commits.append(Commit(sha, message.strip()))
        return commits

    def show(self, revision: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``revision``, or None where it did not exist."""
        try:
            result = subprocess.run(
                ["git", "-C", str(self.work_tree), "show", f"{revision}:{path}"],
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed; install it (apt-get install git)") from None
        return result.stdout if result.returncode == 0 else None

    def delete_tag(self, name: str) -> None:
        self.run("tag", "--delete", name)
