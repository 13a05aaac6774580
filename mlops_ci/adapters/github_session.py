"""A session with GitHub's API through PyGithub, under one retry policy: writes are never
retried blindly. Rate limits (403 or 429 with ``Retry-After``, or an exhausted
``X-RateLimit-Remaining`` with its reset time) wait and try again, a bounded number of
times; after a 5xx or a dropped connection on a write, the state is read back first (the
write may have worked), so a retry never makes a second pull request or release. Writes are
spaced as GitHub asks (one second apart) unless told otherwise (tests). The token never
reaches a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError, UsageError

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_API = "https://api.github.com"
# The REST API version the requests are written and tested against (tests/github/openapi.json
# describes it); sent on every request, so a later default cannot change an answer's shape.
API_VERSION = "2022-11-28"
_ATTEMPTS = 5
_MAX_WAIT = 120.0


class GitHubRefused(MlopsCiError):
    """GitHub refused a request for a reason a retry does not fix (422, 404, 403)."""

    exit_status = ExitStatus.SERVICE_FAILED


class GitHubSession:
    """One repository's client, and its calls under the retry policy."""

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
            api_version=API_VERSION,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            timeout=30,
        )
        self._repo = self._client.get_repo(repository)

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
