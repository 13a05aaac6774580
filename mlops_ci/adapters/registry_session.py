"""A session with one OCI registry: requests with the auth its ``WWW-Authenticate``
challenge asks for (anonymous, Basic, or a Bearer token from the realm it names), retried
with backoff on 5xx, 429 and dropped connections a bounded number of times. Credentials come
from ``MLOPS_CI_REGISTRY_USERNAME``/``MLOPS_CI_REGISTRY_PASSWORD`` or ``~/.docker/config.json``
(``$DOCKER_CONFIG``); they and the tokens never reach a log or a message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_ci.adapters.registry_auth import Credentials, Login, RegistryAuthError
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.image.oci import INDEX_TYPES, MANIFEST_TYPES

log = logging.getLogger(__name__)

ACCEPT_MANIFESTS = ", ".join([*MANIFEST_TYPES, *INDEX_TYPES])
MONOLITHIC_LIMIT = 32 << 20
CHUNK_SIZE = 512 << 20
RETRY_STATUS = {429, 500, 502, 503, 504}


class NotFoundError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Retry:
    attempts: int = 5
    first_pause: float = 0.5
    max_pause: float = 8.0
    sleep: Callable[[float], None] = time.sleep


class RegistrySession:
    """Requests to one registry, authenticated and retried."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None = None,
        *,
        secure: bool | None = None,
        retry: Retry | None = None,
        chunk_size: int = CHUNK_SIZE,
        monolithic_limit: int = MONOLITHIC_LIMIT,
        timeout: float = 60.0,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        import requests

        self.registry = registry
        host = registry.split(":", 1)[0]
        if secure is None:
            secure = host not in ("localhost", "127.0.0.1", "::1")
        self.base = f"{'https' if secure else 'http'}://{registry}"
        self._retry = retry or Retry()
        self._chunk_size = chunk_size
        self._monolithic_limit = monolithic_limit
        self._timeout = timeout
        session: Any = requests.Session()
        session.headers["User-Agent"] = "mlops-ci"
        session.merge_environment_settings = _settings_once_per_host(
            session.merge_environment_settings
        )
        self._session = session
        self._login = Login(
            registry, credentials, self._session, timeout, on_secret or (lambda secret: None)
        )

    def close(self) -> None:
        self._session.close()

    # -- requests, auth and retries -------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        scope: str | None,
        ok: Iterable[int],
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> Any:
        """A request that can be repeated: retried on 5xx, 429 and dropped connections."""
        url = path if path.startswith("http") else self.base + path
        for attempt in range(1, self._retry.attempts + 1):
            try:
                answer = self._send(method, url, scope, data=data, headers=headers, stream=stream)
            except Interrupted as interrupted:
                if attempt == self._retry.attempts:
                    raise ServiceError(
                        f"{self.registry} did not answer {method} {path_of(url)} "
                        f"({interrupted}) after {attempt} tries"
                    ) from None
                self._pause(attempt, interrupted.retry_after)
                continue
            if answer.status_code in RETRY_STATUS and answer.status_code not in ok:
                if attempt == self._retry.attempts:
                    break
                self._pause(attempt, retry_after(answer))
                continue
            return self._expect(answer, tuple(ok), method, path_of(url))
        raise ServiceError(
            f"{self.registry} answered {method} {path_of(url)} with HTTP "
            f"{answer.status_code} {self._attempts_text()}"
        )

    def _send(
        self,
        method: str,
        url: str,
        scope: str | None,
        *,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> Any:
        """One request with the login the registry's challenge asks for. A 401 teaches the
        challenge and the request goes once more; a streamed body cannot go twice, so before
        one the login is learnt from a cheap GET of /v2/."""
        replayable = data is None or isinstance(data, bytes)
        if not replayable and not self._login.ready(scope):
            probe = self._raw(
                "GET", self.base + "/v2/", scope, data=None, headers=None, stream=False
            )
            if probe.status_code == 401:
                self._login.learn(probe, scope)
            else:
                self._login.open = True
        answer = self._raw(method, url, scope, data=data, headers=headers, stream=stream)
        if answer.status_code != 401:
            return answer
        self._login.learn(answer, scope)
        if not replayable:
            raise Interrupted("the registry asked for a login again")
        answer = self._raw(method, url, scope, data=data, headers=headers, stream=stream)
        if answer.status_code == 401:
            self._login.refused(scope)
        return answer

    def _raw(
        self,
        method: str,
        url: str,
        scope: str | None,
        *,
        data: Any,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> Any:
        import requests

        try:
            return self._session.request(
                method,
                url,
                data=data,
                headers={**(headers or {}), **self._login.header(scope)},
                timeout=self._timeout,
                stream=stream,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise Interrupted(type(error).__name__) from None
        except requests.RequestException as error:
            raise ServiceError(f"{self.registry}: {type(error).__name__}") from None

    def _expect(self, answer: Any, ok: tuple[int, ...], method: str, what: str) -> Any:
        if answer.status_code in ok:
            return answer
        if answer.status_code in (401, 403):
            raise RegistryAuthError(
                f"{self.registry} refused {method} {what} (HTTP {answer.status_code}); "
                "check the credentials and their permissions"
            )
        raise ServiceError(
            f"{self.registry} answered {method} {what} with HTTP {answer.status_code}"
            f"{_registry_error(answer)}"
        )

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        pause = min(self._retry.max_pause, self._retry.first_pause * 2 ** (attempt - 1))
        if retry_after is not None:
            pause = min(max(pause, retry_after), 60.0)
        log.info("%s: trying again in %.1f s", self.registry, pause)
        self._retry.sleep(pause)

    def _attempts_text(self) -> str:
        return f"after {self._retry.attempts} tries"


class Interrupted(Exception):
    """A request that never got an answer, or one that says to come back later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def retry_after(answer: Any) -> float | None:
    value = answer.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _registry_error(answer: Any) -> str:
    """The registry's own error code and message (never the request's headers)."""
    try:
        errors = answer.json().get("errors") or []
    except ValueError:
        return ""
    if not errors or not isinstance(errors, list) or not isinstance(errors[0], dict):
        return ""
    first = errors[0]
    return f": {str(first.get('code', ''))[:40]} {str(first.get('message', ''))[:200]}".rstrip()


def _settings_once_per_host(merge: Callable[..., Any]) -> Callable[..., Any]:
    """requests reads the environment's proxy, no_proxy and CA bundle settings again for
    every request (about a millisecond each, and a push or a signing makes dozens); they
    are the same for every request to one host, so they are read once for it."""
    from urllib.parse import urlsplit

    known: dict[tuple[Any, ...], Any] = {}

    def merged(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        parts = urlsplit(url)
        asked = tuple(sorted((proxies or {}).items()))
        key = (parts.scheme, parts.netloc, asked, stream, verify, cert)
        if key not in known:
            known[key] = merge(url, proxies, stream, verify, cert)
        return dict(known[key])

    return merged


def path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


class SizedBody:
    """A stream of chunks with a known length: requests sends it with Content-Length."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def limited(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    remaining = length
    for chunk in chunks:
        if remaining <= 0:
            break
        piece = chunk[:remaining]
        remaining -= len(piece)
        yield piece
    if isinstance(chunks, Iterator) and hasattr(chunks, "close"):
        chunks.close()
