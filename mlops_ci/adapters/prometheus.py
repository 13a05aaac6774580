"""Scraping a Prometheus text-format endpoint: one GET, bounded in time (the whole of it:
connecting, the headers and the body, however slowly they come) and size.

The URL may carry a user and password (``http://user:pass@host/metrics``); they are sent as
Basic auth and never appear in a message. A bearer token can come from
``MLOPS_CI_PROMETHEUS_TOKEN``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from mlops_ci.core.exposition import MAX_BYTES, ExpositionError, shown_url
from mlops_ci.errors import ServiceError

ACCEPT = "text/plain;version=0.0.4;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5"


def scrape(url: str, environ: Mapping[str, str], timeout: float = 10.0) -> str:
    """The exposition text at ``url`` within ``timeout`` seconds in all; ServiceError (exit
    3) when it cannot be had. A socket's timeout bounds each read, not their sum, so a body
    sent a byte at a time would never time out: the GET runs in a thread of its own, which
    the command stops waiting for at the deadline (a daemon: it never holds up the exit)."""
    deadline = time.monotonic() + timeout
    outcome: list[str | BaseException] = []

    def attempt() -> None:
        try:
            outcome.append(_get(url, environ, timeout, deadline))
        except BaseException as error:  # handed to the waiting thread, raised there
            outcome.append(error)

    worker = threading.Thread(target=attempt, name="scrape", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise _late(shown_url(url), timeout)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _late(shown: str, timeout: float) -> ServiceError:
    return ServiceError(
        f"the metrics endpoint {shown} did not answer within {timeout:g} s "
        "(--timeout sets the limit)"
    )


def _get(url: str, environ: Mapping[str, str], timeout: float, deadline: float) -> str:
    import requests

    parts = urlsplit(url)
    shown = shown_url(url)
    headers = {"Accept": ACCEPT}
    token = environ.get("MLOPS_CI_PROMETHEUS_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    auth = (parts.username or "", parts.password or "") if parts.username else None
    plain = urlunsplit(parts._replace(netloc=shown_url(url).split("/")[2]))
    try:
        with requests.get(
            plain, headers=headers, auth=auth, timeout=timeout, stream=True
        ) as answer:
            if answer.status_code != 200:
                raise ServiceError(
                    f"the metrics endpoint {shown} answered HTTP {answer.status_code}; check "
                    "monitor.source and that the model's service is up"
                )
            body = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                if time.monotonic() > deadline:
                    raise _late(shown, timeout)  # this thread stops; the command has gone on
                body += chunk
                if len(body) > MAX_BYTES:
                    raise ServiceError(
                        f"the metrics endpoint {shown} sent more than {MAX_BYTES // 2**20} MiB; "
                        "point monitor.source at the model's own metrics"
                    )
    except requests.Timeout:
        raise _late(shown, timeout) from None
    except requests.RequestException as error:
        raise ServiceError(
            f"the metrics endpoint {shown} cannot be reached ({type(error).__name__}); check "
            "monitor.source and that the model's service is up"
        ) from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ExpositionError(
            f"the metrics endpoint {shown} answered bytes that are not UTF-8"
        ) from None


class PrometheusScraper:
    """The Scraper port over HTTP; ``MLOPS_CI_PROMETHEUS_TOKEN`` from ``environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def scrape(self, url: str, timeout: float) -> str:
        return scrape(url, self._environ, timeout)
