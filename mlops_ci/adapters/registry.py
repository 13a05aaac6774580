"""An OCI distribution (registry v2) client: what ``image push|promote|inspect`` and the
base-image cache need, and no more. A big upload goes in chunks and resumes from the offset
the registry reports instead of starting again.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin

from mlops_ci.adapters.registry_auth import find_credentials
from mlops_ci.adapters.registry_session import (
    ACCEPT_MANIFESTS,
    RETRY_STATUS,
    Interrupted,
    NotFoundError,
    RegistrySession,
    SizedBody,
    limited,
    retry_after,
)
from mlops_ci.core.image_reference import Reference
from mlops_ci.core.oci import OCI_INDEX
from mlops_ci.core.referrers import MOST_INDEX_BYTES
from mlops_ci.errors import ServiceError
from mlops_ci.image.oci import sha256_digest

BlobSource = Callable[[int], Iterator[bytes]]
"""The bytes of a blob from an offset to its end (a push resumes where the registry is)."""


class RegistryClient(RegistrySession):
    """The Registry port."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._without_referrers_api: set[str] = set()

    @classmethod
    def for_reference(
        cls, reference: Reference, environ: Mapping[str, str], **options: Any
    ) -> RegistryClient:
        credentials = find_credentials(reference.registry, environ)
        return cls(reference.api_host, credentials, **options)

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
        found = self.find_manifest(repository, reference)
        if found is None:
            raise NotFoundError(f"{self.registry}/{repository}:{reference} does not exist")
        return found

    def find_manifest(self, repository: str, reference: str) -> tuple[bytes, str] | None:
        """get_manifest in one request, None when there is none (a HEAD first would be a
        second round trip for every attachment looked up)."""
        answer = self._call(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=_pull(repository),
            ok=(200, 404),
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        if answer.status_code == 404:
            return None
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
            except Interrupted as interrupted:
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

    def referrers(self, repository: str, digest: str) -> bytes | None:
        """The image index the referrers API lists for ``digest``; None when the registry
        has no such API (it answers 404: the referrers tag schema is then the list). A
        registry that has none is not asked again by this client."""
        if repository in self._without_referrers_api:
            return None
        answer = self._call(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            scope=_pull(repository),
            ok=(200, 404),
            headers={"Accept": OCI_INDEX},
            stream=True,
        )
        try:
            if answer.status_code == 404:
                self._without_referrers_api.add(repository)
                return None
            body = b""
            for chunk in answer.iter_content(1 << 16):
                body += chunk
                if len(body) > MOST_INDEX_BYTES:
                    raise ServiceError(
                        f"{self.registry} listed more referrers of {digest[:19]} than "
                        "mlops-ci reads (over 1 MiB)"
                    )
            return body
        finally:
            answer.close()

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
                    data=SizedBody(source(0), size),
                    headers={"Content-Type": "application/octet-stream"},
                )
            except Interrupted as interrupted:
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
        chunks = limited(source(start), end - start)
        answer = self._send(
            "PATCH",
            location,
            scope,
            data=SizedBody(chunks, end - start),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{end - 1}",
            },
        )
        if answer.status_code in RETRY_STATUS:
            raise Interrupted(f"HTTP {answer.status_code}", retry_after(answer))
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
            with contextlib.suppress(Interrupted):
                self._send("DELETE", urljoin(self.base, location), _push(repository))

    def _location(self, answer: Any, fallback: str) -> str:
        location = answer.headers.get("Location")
        if not location:
            raise ServiceError(f"{self.registry} started an upload without a Location")
        return str(urljoin(self.base, location))


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _with_query(location: str, query: Mapping[str, str]) -> str:
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}{urlencode(query)}"


def _next_link(header: str | None) -> str | None:
    if not header:
        return None
    match = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", header)
    return match.group(1) if match else None
