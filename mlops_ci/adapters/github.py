"""GitHub, through PyGithub: the CodeHost port — pull requests, labels, reviewers, comments,
issues and releases (github_session holds the retry policy every call goes through)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mlops_ci.adapters.github_session import DEFAULT_API, GitHubRefused, GitHubSession
from mlops_ci.adapters.github_token import github_token
from mlops_ci.core.codehost import Issue, PullRequest, review_request
from mlops_ci.errors import UsageError

log = logging.getLogger(__name__)
_PER_PAGE = 100  # GitHub's most
_MOST_PAGES = 50  # 5,000 issues with one label: feedback of years


def connect(
    environ: Mapping[str, str],
    repository: str | None = None,
    on_secret: Callable[[str], None] = lambda secret: None,
) -> GitHub:
    """The repository of this run (``GITHUB_REPOSITORY``) with the token github_token.py
    picks (a GitHub App's, else ``GITHUB_TOKEN`` or ``GH_TOKEN``), on ``GITHUB_API_URL``
    (GitHub Enterprise too)."""
    token = github_token(environ, on_secret)
    if not token:
        raise UsageError(
            "no GitHub token: set GITHUB_TOKEN (in Actions: env: GITHUB_TOKEN: "
            "${{ secrets.GITHUB_TOKEN }}, with pull-requests: write and contents: write), "
            "or MLOPS_CI_GITHUB_APP_ID and MLOPS_CI_GITHUB_APP_PRIVATE_KEY for a GitHub App "
            "whose pull requests start workflows"
        )
    name = repository or environ.get("GITHUB_REPOSITORY")
    if not name or name.count("/") != 1:
        raise UsageError("set GITHUB_REPOSITORY to OWNER/NAME (Actions sets it for you)")
    pause = environ.get("MLOPS_CI_GITHUB_WRITE_PAUSE", "1")
    try:
        write_pause = float(pause)
    except ValueError:
        raise UsageError(
            f"MLOPS_CI_GITHUB_WRITE_PAUSE={pause!r} is not a number of seconds"
        ) from None
    return GitHub(
        name, token, environ.get("GITHUB_API_URL") or DEFAULT_API, write_pause=write_pause
    )


class GitHub(GitHubSession):
    """The CodeHost port for one repository."""

    # -- pull requests ------------------------------------------------------------------

    def open_pull(self, head: str, base: str) -> PullRequest | None:
        found = self._read(
            "list pull requests",
            lambda: list(
                self._repo.get_pulls(state="open", head=f"{self.owner}:{head}", base=base)
            ),
        )
        return _pull(found[0]) if found else None

    def create_pull(self, title: str, body: str, head: str, base: str) -> PullRequest:
        """A new pull request; when one exists already (a race, or a write that worked
        before its answer was lost), that one."""

        def existing() -> PullRequest | None:
            return self.open_pull(head, base)

        try:
            made = self._write(
                "create the pull request",
                lambda: self._repo.create_pull(base=base, head=head, title=title, body=body),
                read_back=existing,
            )
        except GitHubRefused as refused:
            if "already exists" not in str(refused):
                raise
            found = existing()
            if found is None:
                raise
            return found
        return made if isinstance(made, PullRequest) else _pull(made)

    def update_pull(self, number: int, title: str, body: str) -> None:
        self._write(
            "update the pull request",
            lambda: self._repo.get_pull(number).edit(title=title, body=body),
            read_back=None,
            idempotent=True,
        )

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._write(
            "label the pull request",
            # GitHub's description takes {"labels": [...]}; PyGithub sends a bare array.
            lambda: self._client.requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/issues/{number}/labels", input={"labels": list(labels)}
            ),
            read_back=None,
            idempotent=True,  # labels already there are no change
        )

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        """Asks ``reviewers`` (users and teams, as the manifest names them) to review."""
        asked = review_request(reviewers, self.owner)
        for team in asked.elsewhere:
            log.warning(
                "the team %s is not of %s, so GitHub cannot ask it to review; name a team of "
                "%s in model.owners or release.pull_request.reviewers",
                team,
                self.owner,
                self.owner,
            )
        if not asked.users and not asked.teams:
            return
        self._write(
            "request reviewers",
            lambda: self._client.requester.requestJsonAndCheck(
                "POST",
                f"{self._repo.url}/pulls/{number}/requested_reviewers",
                input={"reviewers": list(asked.users), "team_reviewers": list(asked.teams)},
            ),
            read_back=None,
            idempotent=True,
        )

    def pulls_of_commit(self, sha: str) -> list[PullRequest]:
        return self._read(
            "find the pull request of a commit",
            lambda: [_pull(p) for p in self._repo.get_commit(sha).get_pulls()],
        )

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, bool]:
        """The one comment of ``number`` that holds ``marker``, made or updated to ``body``
        (which must hold the marker); its address and whether anything was written."""
        issue = self._repo.get_issue(number)

        def mine() -> Any:
            for comment in issue.get_comments():
                if marker in (comment.body or ""):
                    return comment
            return None

        found = self._read("read the pull request's comments", mine)
        if found is not None:
            if (found.body or "").strip() == body.strip():
                return str(found.html_url), False
            self._write(
                "update the comment", lambda: found.edit(body), read_back=None, idempotent=True
            )
            return str(found.html_url), True
        made = self._write(
            "comment on the pull request", lambda: issue.create_comment(body), read_back=mine
        )
        return str(made.html_url), True

    # -- issues -------------------------------------------------------------------------

    def issues(self, label: str, state: str = "open", since: datetime | None = None) -> list[Issue]:
        """The issues (not pull requests, which GitHub lists as issues too) with ``label``,
        updated at or after ``since`` when given."""

        # Asked page by page from the answer's JSON: PyGithub's list items fetch each issue
        # again when asked whether it is a pull request (an issue's answer has no such key).
        parameters: dict[str, Any] = {"state": state, "labels": label, "per_page": _PER_PAGE}
        if since is not None:
            parameters["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def read() -> list[Issue]:
            found: list[Issue] = []
            for page in range(1, _MOST_PAGES + 1):
                _, items = self._client.requester.requestJsonAndCheck(
                    "GET", f"{self._repo.url}/issues", parameters={**parameters, "page": page}
                )
                items = items if isinstance(items, list) else []
                found += [
                    issue
                    for item in items
                    if isinstance(item, dict) and "pull_request" not in item
                    if (issue := _issue_of(item)) is not None
                ]
                if len(items) < _PER_PAGE:
                    break
            return found

        return self._read("list issues", read)

    def open_issue(self, title: str, body: str, labels: Sequence[str], marker: str) -> Issue:
        """A new issue; if the answer was lost after GitHub made it, the one holding
        ``marker`` among the open issues with the first label."""

        def existing() -> Issue | None:
            for issue in self.issues(labels[0]):
                if marker in issue.body:
                    return issue
            return None

        made = self._write(
            "open the issue",
            lambda: self._repo.create_issue(title=title, body=body, labels=list(labels)),
            read_back=existing,
        )
        return made if isinstance(made, Issue) else _issue(made)

    def edit_issue(self, number: int, *, body: str | None = None, close: bool = False) -> None:
        changes: dict[str, Any] = {}
        if body is not None:
            changes["body"] = body
        if close:
            changes["state"] = "closed"
            changes["state_reason"] = "completed"
        self._write(
            "update the issue",
            lambda: self._repo.get_issue(number).edit(**changes),
            read_back=None,
            idempotent=True,
        )

    def comment(self, number: int, body: str) -> None:
        """A comment on an issue or pull request. Not idempotent: after a lost answer it is
        not sent again unless the comment is not there."""

        def posted() -> Any:
            for comment in self._repo.get_issue(number).get_comments():
                if (comment.body or "").strip() == body.strip():
                    return comment
            return None

        self._write(
            "comment on the issue",
            lambda: self._repo.get_issue(number).create_comment(body),
            read_back=lambda: self._read("read the comments", posted),
        )

    # -- releases -----------------------------------------------------------------------

    def release(self, tag: str) -> dict[str, Any] | None:
        import github

        def read() -> dict[str, Any] | None:
            try:
                found = self._repo.get_release(tag)
            except github.UnknownObjectException:
                return None
            return {"id": found.id, "url": found.html_url, "tag": found.tag_name}

        return self._read("read the release", read)

    def create_release(
        self, tag: str, name: str, body: str, target: str
    ) -> tuple[dict[str, Any], bool]:
        """The release of ``tag`` and whether this call made it (False: it was there)."""
        before = self.release(tag)
        if before is not None:
            return before, False
        try:
            made = self._write(
                "create the release",
                lambda: self._repo.create_git_release(tag, name, body, target_commitish=target),
                read_back=lambda: self.release(tag),
            )
        except GitHubRefused as refused:
            found = self.release(tag)
            if found is None or "already_exists" not in str(refused):
                raise
            return found, False
        if isinstance(made, dict):
            return made, False
        return {"id": made.id, "url": made.html_url, "tag": made.tag_name}, True


def _pull(pull: Any) -> PullRequest:
    return PullRequest(
        number=int(pull.number),
        url=str(pull.html_url),
        title=str(pull.title or ""),
        body=str(pull.body or ""),
        head=str(pull.head.ref),
        base=str(pull.base.ref),
        state=str(pull.state),
        merged=bool(pull.merged),
        merge_commit_sha=pull.merge_commit_sha,
        labels=tuple(str(label.name) for label in pull.labels),
    )


def _issue_of(item: dict[str, Any]) -> Issue | None:
    """An issue from GitHub's JSON; None for one not of that shape (the answer is
    untrusted: it is left out rather than guessed at)."""
    number, created = item.get("number"), item.get("created_at")
    labels = item.get("labels")
    if not isinstance(number, int) or not isinstance(created, str):
        return None
    try:
        at = datetime.fromisoformat(created)
    except ValueError:
        return None
    return Issue(
        number=number,
        url=str(item.get("html_url") or ""),
        title=str(item.get("title") or ""),
        body=str(item.get("body") or ""),
        state=str(item.get("state") or ""),
        labels=tuple(
            str(label["name"])
            for label in (labels if isinstance(labels, list) else [])
            if isinstance(label, dict) and "name" in label
        ),
        created_at=at if at.tzinfo else at.replace(tzinfo=UTC),
    )


def _issue(issue: Any) -> Issue:
    created = issue.created_at
    return Issue(
        number=int(issue.number),
        url=str(issue.html_url),
        title=str(issue.title or ""),
        body=str(issue.body or ""),
        state=str(issue.state),
        labels=tuple(str(label.name) for label in issue.labels),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
    )
