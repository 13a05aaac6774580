"""A data set at an address (s3://, gs://, az://, https://) as a local file: streamed to a
temporary folder a megabyte at a time, so memory stays bounded whatever the file's size,
and removed when the read is over.

Credentials come from each store's standard variables (``AWS_*`` and ``AWS_ENDPOINT_URL``
for S3, ``GOOGLE_APPLICATION_CREDENTIALS`` for GCS, ``AZURE_STORAGE_*`` for Azure) through
its own SDK, and never from the manifest. Messages name the address without its user,
password or query (a pre-signed URL's signature) and never quote a credential.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mlops_ci.data.file_problems import DataFileError
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.manifest.model import shown_url

CHUNK = 1 << 20
ATTEMPTS = 3
_TIMEOUT = (10.0, 60.0)  # connect, and each read: a stalled server fails, a slow one goes on


@contextmanager
def local_copy(url: str, sleep: Callable[[float], None] = time.sleep) -> Iterator[Path]:
    """The file at ``url`` in a temporary folder, removed afterwards. Its name keeps the
    address's extensions (``.csv.gz``), which tell the reader how to unpack it."""
    shown = shown_url(url)
    name = PurePosixPath(urlsplit(url).path).name or "data"
    with tempfile.TemporaryDirectory(prefix="mlops-ci-fetch-") as folder:
        target = Path(folder, name)
        fetch = _FETCHERS[urlsplit(url).scheme.lower()]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                _write(target, fetch(url, shown))
                break
            except _Transient as error:
                if attempt == ATTEMPTS:
                    raise ServiceError(
                        f"{shown} could not be read after {ATTEMPTS} attempts: {error}; "
                        "check that the store is reachable from this runner"
                    ) from None
                sleep(0.5 * 2**attempt)
        yield target


class _Transient(Exception):
    """A failure worth another attempt: a dropped connection or a server error."""


def _write(target: Path, chunks: Iterable[bytes]) -> None:
    with target.open("wb") as sink:
        for chunk in chunks:
            sink.write(chunk)


def _https(url: str, shown: str) -> Iterator[bytes]:
    import requests

    try:
        with requests.get(url, stream=True, timeout=_TIMEOUT) as answer:
            status = answer.status_code
            if status == 404:
                raise DataFileError(f"{shown} does not exist (HTTP 404); fix data[].path")
            if status in (401, 403):
                raise UsageError(
                    f"{shown} refused the download (HTTP {status}); the address needs "
                    "credentials it does not carry (a pre-signed URL, say)"
                )
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status}")
            if status != 200:
                raise DataFileError(
                    f"{shown} answered HTTP {status}, not the file; fix data[].path"
                )
            yield from answer.iter_content(CHUNK)
    except requests.RequestException as error:
        raise _Transient(type(error).__name__) from None


def _s3(url: str, shown: str) -> Iterator[bytes]:
    boto3 = _sdk("boto3", "s3")
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    parts = urlsplit(url)
    try:
        # A session of its own: boto3's default one keeps the credentials it first found.
        client = boto3.session.Session().client("s3")
        body = client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"]
        yield from body.iter_chunks(CHUNK)
    except (NoCredentialsError, PartialCredentialsError):
        raise UsageError(
            f"{shown} needs S3 credentials and none are set; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the job's environment"
        ) from None
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404"):
            raise DataFileError(f"{shown} does not exist; fix data[].path") from None
        if code == "NoSuchBucket":
            raise DataFileError(
                f"{shown}: the bucket {parts.netloc!r} does not exist; fix data[].path"
            ) from None
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise UsageError(
                f"{shown} refused the download ({code}); check AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and the bucket's policy"
            ) from None
        raise _Transient(code or "an S3 error") from None
    except EndpointConnectionError:
        raise _Transient("the S3 endpoint did not answer") from None
    except BotoCoreError as error:
        raise _Transient(type(error).__name__) from None


def _fsspec(url: str, shown: str) -> Iterator[bytes]:
    """gs:// and az:// through fsspec's gcsfs and adlfs, which read the standard variables."""
    scheme = urlsplit(url).scheme.lower()
    _sdk("gcsfs" if scheme == "gs" else "adlfs", "gcs" if scheme == "gs" else "azure")
    import fsspec

    try:
        with fsspec.open(url, "rb", block_size=CHUNK) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except FileNotFoundError:
        raise DataFileError(f"{shown} does not exist; fix data[].path") from None
    except PermissionError:
        raise UsageError(
            f"{shown} refused the download; check the store's credentials in the environment"
        ) from None
    except OSError as error:
        raise _Transient(type(error).__name__) from None


def _sdk(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise UsageError(
            f"reading this data set's address needs {module}; install mlops-ci[{extra}]"
        ) from None


_FETCHERS: dict[str, Callable[[str, str], Iterator[bytes]]] = {
    "https": _https,
    "http": _https,
    "s3": _s3,
    "gs": _fsspec,
    "az": _fsspec,
}
