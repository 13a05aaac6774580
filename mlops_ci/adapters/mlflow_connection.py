"""A connection to an MLflow tracking store: the client, made with no retries of its own,
and calls with bounded retries of what a retry can mend; URIs never shown with credentials.

mlflow is imported only here (and by the adapters built on this), and only when a command
needs it.
"""

from __future__ import annotations

import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from mlops_ci.errors import ServiceError

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
T = TypeVar("T")

TAG = "mlops-ci."  # the prefix of every tag mlops-ci sets
_RETRYABLE_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}

# A write that lost a race with a twin job's: a store's unique key refused it. The SQL stores
# answer BAD_REQUEST with the database's text (PostgreSQL's, SQLite's, MySQL's).
TWIN_WRITE_CODES = ("BAD_REQUEST", "RESOURCE_ALREADY_EXISTS")
TWIN_WRITES = 3
_DUPLICATE_KEY = ("duplicate key", "UNIQUE constraint failed", "Duplicate entry", "IntegrityError")


class TrackingError(ServiceError):
    """MLflow did not answer, or kept failing, after bounded retries."""


def redact_uri(uri: str) -> str:
    """The URI with any user and password replaced, for messages and logs."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def resolve_tracking_uri(configured: str, repository: Path, environ: Mapping[str, str]) -> str:
    """MLFLOW_TRACKING_URI wins over the manifest; a relative SQLite path is relative to the
    repository (not to wherever the command happens to run)."""
    uri = environ.get("MLFLOW_TRACKING_URI") or configured
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{(repository / uri.removeprefix('sqlite:///')).resolve()}"
    return uri


@dataclass(frozen=True)
class TrackingTarget:
    uri: str
    experiment: str
    registered_model: str
    # Where a store without an artifact server keeps artifacts (the embedded SQLite default).
    artifact_root: Path


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep


class MlflowConnection:
    """One tracking store's client, and its calls with bounded retries."""

    def __init__(self, target: TrackingTarget, retry: Retry | None = None) -> None:
        # mlflow retries each HTTP request up to 7 times with a doubling backoff, minutes in
        # all; mlops-ci retries whole calls itself, a bounded few, so ask for none.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
        # mlflow prints "View run ... at: URL" on stdout when a run ends: stdout is ours.
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        import mlflow  # noqa: F401 - imported first, so that its loggers exist to be quieted

        # mlflow and alembic talk at INFO ("Creating initial MLflow database tables...") and
        # SQLAlchemy warns about mlflow's own code: neither is the user's business.
        for chatty in ("mlflow", "alembic"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mlflow(\.|$)")
        self.target = target
        self.retry = retry or Retry()
        self.client = _open(target)
        self._experiment_id: str | None = None

    # -- the experiment and its runs --------------------------------------------------

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self._call(
                "find the experiment", self.client.get_experiment_by_name, self.target.experiment
            )
            if found is None:
                self._experiment_id = self._create_experiment()
            else:
                self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    def _create_experiment(self) -> str:
        from mlflow.exceptions import MlflowException

        location = None
        if not self.target.uri.startswith(("http://", "https://", "databricks")):
            location = self.target.artifact_root.resolve().as_uri()
        try:
            return str(
                self._call(
                    "create the experiment",
                    self.client.create_experiment,
                    self.target.experiment,
                    artifact_location=location,
                    expected=("RESOURCE_ALREADY_EXISTS",),
                )
            )
        except MlflowException:
            # Two jobs created it at once: the other one won, which is just as good.
            found = self.client.get_experiment_by_name(self.target.experiment)
            if found is None:
                raise
            return str(found.experiment_id)

    def search(self, query: str, limit: int, order: str) -> Iterator[Any]:
        """Up to ``limit`` runs of the experiment that match ``query``, page by page."""
        token = None
        left = limit
        while left > 0:
            page = self._call(
                "search runs",
                self.client.search_runs,
                [self.experiment_id()],
                query,
                max_results=min(1000, left),
                order_by=[order],
                page_token=token,
            )
            yield from page[:left]
            left -= len(page)
            token = page.token
            if not token:
                return

    # -- calls ---------------------------------------------------------------------------

    def _call(
        self,
        what: str,
        function: Callable[..., T],
        *args: Any,
        expected: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> T:
        """``function`` with bounded retries on what a retry can mend (5xx, 429, a dropped
        connection). MLflow errors whose code is ``expected`` reach the caller as they are;
        any other refusal (a 401, a bad request) becomes a TrackingError naming the URI."""
        from mlflow.exceptions import MlflowException

        delay = self.retry.first_delay
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return function(*args, **kwargs)
            except Exception as error:  # classified below; the rest is re-raised untouched
                if isinstance(error, MlflowException) and error.error_code in expected:
                    raise
                if not _retryable(error):
                    refused = _login_refused(error)
                    if refused is not None:
                        raise TrackingError(
                            f"MLflow at {redact_uri(self.target.uri)} refused the login "
                            f"(HTTP {refused}) when asked to {what}: check "
                            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
                            "MLFLOW_TRACKING_TOKEN), and that this user may write to the "
                            "experiment"
                        ) from None
                    if isinstance(error, MlflowException):
                        raise self._refusal(what, error) from None
                    raise
                if attempt == self.retry.attempts:
                    raise TrackingError(
                        f"MLflow at {redact_uri(self.target.uri)} could not {what} after "
                        f"{attempt} tries: {_reason(error, self.target.uri)}; check that it "
                        "is up and that this machine can reach it"
                    ) from None
                log.warning(
                    "MLflow could not %s (%s); trying again in %.1f s",
                    what,
                    _reason(error, self.target.uri),
                    delay,
                )
                self.retry.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, what: str, function: Callable[..., T], *args: Any) -> T:
        """A write that two jobs may make at one moment and whose last writer wins (a tag,
        an alias). The SQL stores write one as a read then an insert, so the job that
        inserts second meets the unique key; made again, its write finds the row and
        replaces it."""
        from mlflow.exceptions import MlflowException

        for attempt in range(1, TWIN_WRITES + 1):
            try:
                return self._call(what, function, *args, expected=TWIN_WRITE_CODES)
            except MlflowException as error:
                if not written_by_a_twin(error) or attempt == TWIN_WRITES:
                    raise self._refusal(what, error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _refusal(self, what: str, error: Exception) -> TrackingError:
        """A refusal of the server's, in a sentence that names the URI (without its
        credentials)."""
        return TrackingError(
            f"MLflow at {redact_uri(self.target.uri)} refused to {what}: "
            f"{_reason(error, self.target.uri)}"
        )


def _open(target: TrackingTarget) -> MlflowClient:
    """The client; a local store is made (folder, schema) here, and one that cannot be is
    named, not a traceback."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlops_ci.adapters.mlflow_embedded import ready_embedded_store

    refusals: tuple[type[Exception], ...] = (OSError, MlflowException)
    try:
        from alembic.util.exc import CommandError
        from sqlalchemy.exc import SQLAlchemyError

        refusals += (SQLAlchemyError, CommandError)
    except ImportError:  # pragma: no cover - a client for servers only has no SQL store
        pass
    embedded = _embedded_path(target.uri)
    try:
        if embedded is not None:
            # Made, migrated or made again by one process, whole: never by MLflow's open.
            ready_embedded_store(embedded)
        return MlflowClient(tracking_uri=target.uri, registry_uri=target.uri)
    except refusals as error:
        raise TrackingError(
            f"MLflow at {redact_uri(target.uri)} cannot be opened ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200] if str(error) else 'no detail'}); check "
            "MLFLOW_TRACKING_URI or tracking.mlflow.tracking_uri"
        ) from None


def _embedded_path(uri: str) -> Path | None:
    """The file of a SQLite store (absolute, as resolve_tracking_uri makes it), or None."""
    if not uri.startswith("sqlite:////"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def written_by_a_twin(error: Exception) -> bool:
    """Whether a store refused a write because a twin job wrote the same key first."""
    text = str(error)
    return any(sign in text for sign in _DUPLICATE_KEY)


def _login_refused(error: Exception) -> int | None:
    """401 or 403 when the server refused the credentials (or their lack); else None."""
    from mlflow.exceptions import MlflowException

    if not isinstance(error, MlflowException):
        return None
    status: int = error.get_http_status_code()  # type: ignore[no-untyped-call]
    if status in (401, 403):
        return status
    # A server whose 401 body is not MLflow's JSON (the basic-auth app's) is reported so.
    said = re.search(r"error code (40[13]) != 200", str(error))
    return int(said.group(1)) if said else None


def _retryable(error: Exception) -> bool:
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException):
        status: int = error.get_http_status_code()  # type: ignore[no-untyped-call]
        return (
            status >= 500
            or status == 429
            or error.error_code in _RETRYABLE_CODES
            or "failed with exception" in str(error)
        )
    try:
        import requests
    except ImportError:  # pragma: no cover - mlflow depends on requests
        return False
    return isinstance(error, requests.exceptions.RequestException | ConnectionError)


def _reason(error: Exception, uri: str) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = text.replace(uri, redact_uri(uri))
    return text[:300]


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def quoted(value: str) -> str:
    """A value inside an MLflow filter string's single quotes."""
    return re.sub(r"(['\\])", r"\\\1", value)
