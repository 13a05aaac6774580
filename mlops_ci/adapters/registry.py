"""An OCI distribution (registry v2) client: what ``image push|promote|inspect`` and the
base-image cache need, and no more.

Authentication follows the registry's ``WWW-Authenticate`` challenge: anonymous, Basic, or a
Bearer token fetched from the realm it names (with the credentials, when there are any).
Credentials come from ``MLOPS_CI_REGISTRY_USERNAME``/``MLOPS_CI_REGISTRY_PASSWORD`` or from
``~/.docker/config.json`` (``$DOCKER_CONFIG``); they and the tokens never reach a log or a
message. Requests that can be repeated are retried with backoff on 5xx, 429 and dropped
connections, a bounded number of times; a big upload resumes from the offset the registry
reports instead of starting again.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

from mlops_ci.core.image_reference import Reference
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.image.oci import INDEX_TYPES, MANIFEST_TYPES, sha256_digest

log = logging.getLogger(__name__)

ACCEPT_MANIFESTS = ", ".join([*MANIFEST_TYPES, *INDEX_TYPES])
MONOLITHIC_LIMIT = 32 << 20
CHUNK_SIZE = 512 << 20
_RETRY_STATUS = {429, 500, 502, 503, 504}


class RegistryAuthError(MlopsCiError):
    """The registry refused our credentials (or we had none where it needs some)."""

    exit_status = ExitStatus.SERVICE_FAILED


class NotFoundError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def find_credentials(
    registry: str, environ: Mapping[str, str], home: Path | None = None
) -> Credentials | None:
    """The credentials for ``registry``: the environment's first, then Docker's config."""
    user = environ.get("MLOPS_CI_REGISTRY_USERNAME")
    password = environ.get("MLOPS_CI_REGISTRY_PASSWORD")
    if user and password:
        return Credentials(user, password)
    folder = environ.get("DOCKER_CONFIG")
    home = home or Path(environ.get("HOME") or Path.home())
    config = Path(folder) / "config.json" if folder else home / ".docker" / "config.json"
    try:
        auths = json.loads(config.read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    hub = registry in ("docker.io", "registry-1.docker.io")
    names = [registry, f"https://{registry}", f"http://{registry}"]
    if hub:
        names += ["https://index.docker.io/v1/", "index.docker.io"]
    for name in names:
        entry = auths.get(name) if isinstance(auths, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if user and password:
                return Credentials(user, password)
    return None


@dataclass(frozen=True)
class Retry:
    attempts: int = 5
    first_pause: float = 0.5
    max_pause: float = 8.0
    sleep: Callable[[float], None] = time.sleep


class _Sized:
    """A stream of chunks with a known length: requests sends it with Content-Length."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


BlobSource = Callable[[int], Iterator[bytes]]
"""The bytes of a blob from an offset to its end (a push resumes where the registry is)."""


class RegistryClient:
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
        self._credentials = credentials
        self._retry = retry or Retry()
        self._chunk_size = chunk_size
        self._monolithic_limit = monolithic_limit
        self._timeout = timeout
        self._on_secret = on_secret or (lambda secret: None)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "mlops-ci"
        self._tokens: dict[str, str] = {}
        self._fetched: dict[str, int] = {}
        self._basic = False
        self._open = False
        if credentials is not None:
            self._on_secret(credentials.password)

    @classmethod
    def for_reference(
        cls, reference: Reference, environ: Mapping[str, str], **options: Any
    ) -> RegistryClient:
        credentials = find_credentials(reference.registry, environ)
        return cls(reference.api_host, credentials, **options)

    def close(self) -> None:
        self._session.close()

    # -- the API -------------------------------------------------------------------------

    def ping(self) -> None:
        self._call("GET", "/v2/", scope=None, ok=(200,))

    def blob_exists(self, repository: str, digest: str) -> bool:
        answer = self._call(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=_pull(repository), ok=(200, 404)
        )
        return bool(answer.status_code == 200)

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        answer = self._call(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scope=_pull(repository),
            ok=(200, 404),
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        if answer.status_code == 404:
            return None
        digest = answer.headers.get("Docker-Content-Digest")
        return digest if digest else None

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest's bytes and media type; refuses bytes whose digest is not the one
        asked for (a registry or a proxy must not swap an image)."""
        answer = self._call(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=_pull(repository),
            ok=(200, 404),
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        if answer.status_code == 404:
            raise NotFoundError(f"{self.registry}/{repository}:{reference} does not exist")
        body = answer.content
        if reference.startswith("sha256:") and sha256_digest(body) != reference:
            raise ServiceError(
                f"{self.registry} answered {repository}@{reference} with other bytes"
            )
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        if not media_type:
            media_type = str(json.loads(body).get("mediaType", ""))
        return body, media_type

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        answer = self._call(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=_push(repository),
            ok=(201,),
            data=body,
            headers={"Content-Type": media_type},
        )
        return answer.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def get_blob(self, repository: str, digest: str, sink: Callable[[bytes], None]) -> None:
        """Streams the blob into ``sink``; the caller checks the digest of what arrived."""
        answer = self._call(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scope=_pull(repository),
            ok=(200,),
            stream=True,
        )
        try:
            for chunk in answer.iter_content(1 << 20):
                sink(chunk)
        finally:
            answer.close()

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Asks the registry to link a blob of another repository into this one: no bytes
        move. False when it would not (another registry's policy, a missing blob)."""
        query = urlencode({"mount": digest, "from": source})
        answer = self._call(
            "POST",
            f"/v2/{repository}/blobs/uploads/?{query}",
            scope=f"{_push(repository)} {_pull(source)}",
            ok=(201, 202),
        )
        if answer.status_code == 202:
            self._cancel(answer.headers.get("Location"), repository)
        return bool(answer.status_code == 201)

    def upload_blob(self, repository: str, digest: str, size: int, source: BlobSource) -> None:
        """Uploads a blob the registry does not have: in one request when it is small, else
        in chunks, resuming from the registry's offset after a failure."""
        scope = _push(repository)
        location = self._start_upload(repository, scope)
        if size <= self._monolithic_limit:
            self._monolithic(
                location, digest, size, source=source, scope=scope, repository=repository
            )
            return
        offset = 0
        failures = 0
        while offset < size:
            end = min(size, offset + self._chunk_size)
            try:
                location = self._patch(location, offset, end, source, scope)
                offset = end
                failures = 0
            except _Interrupted as interrupted:
                failures += 1
                if failures >= self._retry.attempts:
                    raise ServiceError(
                        f"uploading {digest[:19]} to {self.registry}/{repository} failed "
                        f"{failures} times in a row ({interrupted}); run the push again"
                    ) from None
                self._pause(failures, interrupted.retry_after)
                location, offset = self._upload_offset(location, repository, scope)
        self._call(
            "PUT",
            _with_query(location, {"digest": digest}),
            scope=scope,
            ok=(201,),
            headers={"Content-Length": "0"},
        )

    def tags(self, repository: str) -> list[str]:
        found: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        while path:
            answer = self._call("GET", path, scope=_pull(repository), ok=(200, 404))
            if answer.status_code == 404:
                return []
            found += answer.json().get("tags") or []
            path = _next_link(answer.headers.get("Link"))
        return found

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Deletes the manifest (with every tag on it). False when the registry does not
        allow deletes."""
        answer = self._call(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete,pull,push",
            ok=(202, 404, 405, 400),
        )
        return bool(answer.status_code == 202)

    # -- uploads ------------------------------------------------------------------------

    def _start_upload(self, repository: str, scope: str) -> str:
        answer = self._call("POST", f"/v2/{repository}/blobs/uploads/", scope=scope, ok=(202,))
        return self._location(answer, repository)

    def _monolithic(
        self,
        location: str,
        digest: str,
        size: int,
        *,
        source: BlobSource,
        scope: str,
        repository: str,
    ) -> None:
        for attempt in range(1, self._retry.attempts + 1):
            try:
                answer = self._send(
                    "PUT",
                    _with_query(location, {"digest": digest}),
                    scope,
                    data=_Sized(source(0), size),
                    headers={"Content-Type": "application/octet-stream"},
                )
            except _Interrupted as interrupted:
                if attempt == self._retry.attempts:
                    raise ServiceError(
                        f"uploading {digest[:19]} to {self.registry}/{repository} failed "
                        f"({interrupted}); run the push again"
                    ) from None
                self._pause(attempt, interrupted.retry_after)
                location = self._start_upload(repository, scope)
                continue
            self._expect(answer, (201,), "PUT", repository)
            return

    def _patch(self, location: str, start: int, end: int, source: BlobSource, scope: str) -> str:
        chunks = _limited(source(start), end - start)
        answer = self._send(
            "PATCH",
            location,
            scope,
            data=_Sized(chunks, end - start),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{end - 1}",
            },
        )
        if answer.status_code in _RETRY_STATUS:
            raise _Interrupted(f"HTTP {answer.status_code}", _retry_after(answer))
        self._expect(answer, (202,), "PATCH", location)
        return self._location(answer, location)

    def _upload_offset(self, location: str, repository: str, scope: str) -> tuple[str, int]:
        """Where an interrupted upload stands: the registry's Range says what it kept."""
        answer = self._call("GET", location, scope=scope, ok=(204, 404))
        if answer.status_code == 404:  # the registry dropped the session: start over
            return self._start_upload(repository, scope), 0
        kept = answer.headers.get("Range", "")
        match = re.fullmatch(r"(?:bytes=)?0-(\d+)", kept.strip())
        # "0-0" is what distribution says of an empty upload (and of one byte): start over.
        offset = int(match.group(1)) + 1 if match and match.group(1) != "0" else 0
        return self._location(answer, location), offset

    def _cancel(self, location: str | None, repository: str) -> None:
        if location:
            with contextlib.suppress(_Interrupted):
                self._send("DELETE", urljoin(self.base, location), _push(repository))

    def _location(self, answer: Any, fallback: str) -> str:
        location = answer.headers.get("Location")
        if not location:
            raise ServiceError(f"{self.registry} started an upload without a Location")
        return str(urljoin(self.base, location))

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
            except _Interrupted as interrupted:
                if attempt == self._retry.attempts:
                    raise ServiceError(
                        f"{self.registry} did not answer {method} {_path_of(url)} "
                        f"({interrupted}) after {attempt} tries"
                    ) from None
                self._pause(attempt, interrupted.retry_after)
                continue
            if answer.status_code in _RETRY_STATUS and answer.status_code not in ok:
                if attempt == self._retry.attempts:
                    break
                self._pause(attempt, _retry_after(answer))
                continue
            return self._expect(answer, tuple(ok), method, _path_of(url))
        raise ServiceError(
            f"{self.registry} answered {method} {_path_of(url)} with HTTP "
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
        if not replayable and not self._ready(scope):
            probe = self._raw(
                "GET", self.base + "/v2/", scope, data=None, headers=None, stream=False
            )
            if probe.status_code == 401:
                self._learn(probe, scope)
            else:
                self._open = True
        answer = self._raw(method, url, scope, data=data, headers=headers, stream=stream)
        if answer.status_code != 401:
            return answer
        self._learn(answer, scope)
        if not replayable:
            raise _Interrupted("the registry asked for a login again")
        answer = self._raw(method, url, scope, data=data, headers=headers, stream=stream)
        if answer.status_code == 401:
            self._refused(scope)
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
                headers={**(headers or {}), **self._auth_header(scope)},
                timeout=self._timeout,
                stream=stream,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise _Interrupted(type(error).__name__) from None
        except requests.RequestException as error:
            raise ServiceError(f"{self.registry}: {type(error).__name__}") from None

    def _ready(self, scope: str | None) -> bool:
        return self._open or self._basic or (scope or "") in self._tokens

    def _auth_header(self, scope: str | None) -> dict[str, str]:
        token = self._tokens.get(scope or "")
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        if self._basic and self._credentials is not None:
            pair = f"{self._credentials.username}:{self._credentials.password}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        return {}

    def _learn(self, answer: Any, scope: str | None) -> None:
        """What the ``WWW-Authenticate`` challenge asks for; refuses when it asks for what
        was already sent."""
        kind, params = _parse_challenge(answer.headers.get("WWW-Authenticate", ""))
        if kind == "basic":
            if self._credentials is None:
                raise RegistryAuthError(
                    f"{self.registry} needs a login; set MLOPS_CI_REGISTRY_USERNAME and "
                    "MLOPS_CI_REGISTRY_PASSWORD, or run `docker login`"
                )
            if self._basic:
                self._refused(scope)
            self._basic = True
            return
        if kind == "bearer":
            key = scope or ""
            fetched = self._fetched.get(key, 0)
            if fetched >= 2:  # a fresh token refused twice: not an expiry
                self._refused(scope)
            self._fetched[key] = fetched + 1
            self._tokens[key] = self._fetch_token(params, key)
            return
        raise RegistryAuthError(
            f"{self.registry} asks for a login mlops-ci does not know ({kind or 'none'})"
        )

    def _refused(self, scope: str | None) -> None:
        who = (
            f"the credentials of {self._credentials.username!r}"
            if self._credentials
            else ("an anonymous request")
        )
        raise RegistryAuthError(
            f"{self.registry} refused {who}"
            + (f" for {scope}" if scope else "")
            + "; check the login and its permissions"
        )

    def _fetch_token(self, params: Mapping[str, str], scope: str) -> str:
        import requests

        realm = params.get("realm")
        if not realm:
            raise RegistryAuthError(f"{self.registry}'s Bearer challenge names no realm")
        query = {"service": params.get("service", ""), "scope": scope.split(" ") if scope else []}
        auth = None
        if self._credentials is not None:
            auth = (self._credentials.username, self._credentials.password)
        try:
            answer = self._session.get(realm, params=query, auth=auth, timeout=self._timeout)
        except requests.RequestException as error:
            raise ServiceError(
                f"the token service of {self.registry} did not answer ({type(error).__name__})"
            ) from None
        if answer.status_code in (401, 403):
            raise RegistryAuthError(
                f"{self.registry}'s token service refused "
                + (
                    f"the credentials of {self._credentials.username!r}"
                    if self._credentials
                    else "an anonymous login"
                )
            )
        try:
            token = answer.json().get("token") or answer.json().get("access_token")
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise ServiceError(f"{self.registry}'s token service answered without a token")
        self._on_secret(token)
        return token

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


class _Interrupted(Exception):
    """A request that never got an answer, or one that says to come back later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}
    return kind.lower(), params


def _retry_after(answer: Any) -> float | None:
    value = answer.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _with_query(location: str, query: Mapping[str, str]) -> str:
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}{urlencode(query)}"


def _next_link(header: str | None) -> str | None:
    if not header:
        return None
    match = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", header)
    return match.group(1) if match else None


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def _limited(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    remaining = length
    for chunk in chunks:
        if remaining <= 0:
            break
        piece = chunk[:remaining]
        remaining -= len(piece)
        yield piece
    if isinstance(chunks, Iterator) and hasattr(chunks, "close"):
        chunks.close()


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
