"""GitHub, through PyGithub: the pull requests, labels, reviewers and releases of a release.

Writes are never retried blindly. Rate limits (403 or 429 with ``Retry-After``, or an
exhausted ``X-RateLimit-Remaining`` with its reset time) wait and try again, a bounded
number of times; after a 5xx or a dropped connection on a write, the state is read back
first (the write may have worked), so a retry never makes a second pull request or release.
Writes are spaced as GitHub asks (one second apart) unless told otherwise (tests). The token
never reaches a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from mlops_ci.core.codehost import Issue, PullRequest
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError, UsageError

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_API = "https://api.github.com"
_ATTEMPTS = 5
_MAX_WAIT = 120.0


class GitHubRefused(MlopsCiError):
    """GitHub refused a request for a reason a retry does not fix (422, 404, 403)."""

    exit_status = ExitStatus.SERVICE_FAILED


def connect(environ: Mapping[str, str], repository: str | None = None) -> GitHub:
    """The repository of this run (``GITHUB_REPOSITORY``) with the token from
    ``GITHUB_TOKEN`` (or ``GH_TOKEN``), on ``GITHUB_API_URL`` (GitHub Enterprise too)."""
    token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
    if not token:
        raise UsageError(
            "no GitHub token: set GITHUB_TOKEN (in Actions: env: GITHUB_TOKEN: "
            "${{ secrets.GITHUB_TOKEN }}, with pull-requests: write and contents: write)"
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


class GitHub:
    def __init__(
        self,
        repository: str,
        token: str,
        api_url: str = DEFAULT_API,
        *,
        write_pause: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import github

        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self._sleep = sleep
        self._write_pause = write_pause
        self._last_write = 0.0
        self._client = github.Github(
            auth=github.Auth.Token(token),
            base_url=api_url.rstrip("/"),
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            timeout=30,
        )
        self._repo = self._client.get_repo(repository)

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
            lambda: self._repo.get_issue(number).add_to_labels(*labels),
            read_back=None,
            idempotent=True,  # labels already there are no change
        )

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        self._write(
            "request reviewers",
            lambda: self._repo.get_pull(number).create_review_request(reviewers=list(reviewers)),
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
        import github

        def read() -> list[Issue]:
            found = self._repo.get_issues(
                state=state, labels=[label], since=since or github.GithubObject.NotSet
            )
            return [_issue(i) for i in found if i.pull_request is None]

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

    # -- the retry policy ---------------------------------------------------------------

    def _read(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return call()
            except Exception as error:  # PyGithub's and requests' errors alike
                wait = self._wait_for(error, attempt)
                if wait is None or attempt == _ATTEMPTS:
                    raise self._failure(what, error) from None
                self._sleep(wait)
        raise AssertionError("unreachable")

    def _write(
        self,
        what: str,
        call: Callable[[], T],
        *,
        read_back: Callable[[], Any] | None,
        idempotent: bool = False,
    ) -> T | Any:
        for attempt in range(1, _ATTEMPTS + 1):
            self._space_writes()
            try:
                return call()
            except Exception as error:
                wait = self._wait_for(error, attempt)
                if wait is None or attempt == _ATTEMPTS:
                    raise self._failure(what, error) from None
                status = _status(error)
                if status is None or status >= 500:
                    # The write may have happened: look before writing again.
                    if read_back is not None:
                        found = read_back()
                        if found is not None:
                            return found
                    elif not idempotent:
                        raise self._failure(what, error) from None
                self._sleep(wait)
        raise AssertionError("unreachable")

    def _space_writes(self) -> None:
        now = time.monotonic()
        pause = self._last_write + self._write_pause - now
        if pause > 0:
            self._sleep(pause)
        self._last_write = time.monotonic()

    def _wait_for(self, error: Exception, attempt: int) -> float | None:
        """How long to wait before trying again, or None when waiting cannot help."""
        status = _status(error)
        headers = _headers(error)
        if status in (403, 429):
            after = headers.get("retry-after")
            if after is not None and after.isdigit():
                return min(float(after), _MAX_WAIT)
            if headers.get("x-ratelimit-remaining") == "0":
                reset = headers.get("x-ratelimit-reset", "")
                if reset.isdigit():
                    return min(max(0.0, float(reset) - time.time()) + 1, _MAX_WAIT)
            if "rate limit" in _message(error).lower():
                return min(60.0 * attempt, _MAX_WAIT)
            return None
        if status is None or status >= 500:
            return float(min(0.5 * 2 ** (attempt - 1), 8.0))
        return None

    def _failure(self, what: str, error: Exception) -> MlopsCiError:
        status = _status(error)
        message = _message(error)
        if status in (401,):
            return UsageError(
                f"GitHub refused the token (HTTP 401) when asked to {what}; check GITHUB_TOKEN"
            )
        if status is not None and status < 500 and status != 429:
            return GitHubRefused(f"GitHub refused to {what} (HTTP {status}): {message}")
        shown = f"HTTP {status}" if status is not None else type(error).__name__
        return ServiceError(f"GitHub did not {what} ({shown}) after {_ATTEMPTS} tries; run again")


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


def _status(error: Exception) -> int | None:
    status = getattr(error, "status", None)
    return int(status) if isinstance(status, int) else None


def _headers(error: Exception) -> dict[str, str]:
    headers = getattr(error, "headers", None) or {}
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


def _message(error: Exception) -> str:
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        parts = [str(data.get("message", ""))]
        for item in data.get("errors") or []:
            if isinstance(item, dict):
                parts.append(str(item.get("message") or item.get("code") or ""))
        return "; ".join(p for p in parts if p)[:300]
    return type(error).__name__
