"""GitHub Actions: step outputs, the step summary, annotations and secret masking.

Workflow commands are lines on stdout that the runner parses, so every value that goes into
one is escaped: a manifest or a data file must never be able to forge a command.
See https://docs.github.com/actions/reference/workflow-commands-for-github-actions.

Commands are written to stderr: the runner parses both streams (its ScriptHandler hands
stdout and stderr each to an OutputManager with the command manager), and stdout stays
free for a command's --json output.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TextIO
from urllib.parse import unquote, urlsplit

from mlops_ci.errors import UsageError

AnnotationLevel = Literal["error", "warning", "notice"]

# Names of environment variables whose values are secrets wherever they appear.
_SECRET_NAME = re.compile(
    r"(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIALS?|API_KEY|PRIVATE_KEY)$", re.IGNORECASE
)
MASK = "***"


def running_in_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


@dataclass(frozen=True)
class Annotation:
    """One ``::error file=…,line=…,col=…::message`` line."""

    level: AnnotationLevel
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    title: str | None = None

    def render(self) -> str:
        properties = {"file": self.file, "line": self.line, "col": self.column, "title": self.title}
        shown = ",".join(
            f"{name}={_escape_property(str(value))}"
            for name, value in properties.items()
            if value is not None
        )
        return f"::{self.level}{' ' + shown if shown else ''}::{_escape_data(self.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def set_output(name: str, value: str, environ: Mapping[str, str]) -> None:
    """Append a step output to ``$GITHUB_OUTPUT``, safe for values of many lines.

    The heredoc delimiter is random and checked against the value, so a value cannot end
    the block early and smuggle in outputs of its own.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
        raise UsageError(f"output name {name!r} is not valid; use letters, digits, _ and -")
    _append(environ, "GITHUB_OUTPUT", _heredoc(name, value))


def pull_request_number(environ: Mapping[str, str]) -> int | None:
    """The pull request this workflow run is for (``GITHUB_EVENT_PATH``'s
    ``pull_request.number``), or None for any other event. The event file is outside input:
    anything but a positive number there is no pull request."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError):
        return None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    return (
        number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None
    )


def set_outputs(values: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """Step outputs when this runs as an Actions step (GITHUB_OUTPUT set); else nothing."""
    if environ.get("GITHUB_OUTPUT"):
        for name, value in values.items():
            set_output(name, value, environ)


def append_summary(markdown: str, environ: Mapping[str, str]) -> None:
    """Add markdown to the job's step summary (``$GITHUB_STEP_SUMMARY``)."""
    _append(
        environ, "GITHUB_STEP_SUMMARY", markdown if markdown.endswith("\n") else markdown + "\n"
    )


def _heredoc(name: str, value: str) -> str:
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(environ: Mapping[str, str], variable: str, text: str) -> None:
    path = environ.get(variable)
    if not path:
        raise UsageError(f"{variable} is not set; this only works inside a GitHub Actions step")
    # One write of the whole block, in append mode, so steps sharing the file never interleave.
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


class SecretMasker(logging.Filter):
    """Replaces every known secret with ``***`` in log records and in any text.

    For a secret the tool comes by itself (a registry's bearer token), ``add`` can also
    tell the runner to mask it (``::add-mask::``), so the runner hides it in output the
    tool does not control, such as a child process's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str, *, announce_to: TextIO | None = None) -> None:
        # Very short values would mask ordinary words; the runner ignores them as well.
        for part in [secret, *secret.splitlines()]:
            value = part.strip()
            if len(value) < 4 or value in self._secrets:
                continue
            self._secrets.add(value)
            if announce_to is not None:
                announce_to.write(f"::add-mask::{_escape_data(value)}\n")

    def add_from_environment(self, environ: Mapping[str, str]) -> None:
        """Mask the values of variables named like secrets (``GITHUB_TOKEN``, ``*_PASSWORD``).

        They are not announced: they come from the workflow's secrets, which the runner
        already masks, and an ``::add-mask::`` line would print them wherever the output
        is not parsed for commands (a local run, a copied log).
        """
        for name, value in environ.items():
            if _SECRET_NAME.search(name) and value:
                self.add(value)
            elif "@" in value and "://" in value:
                self.add_url_credentials(value)
        user = environ.get("MLFLOW_TRACKING_USERNAME", "")
        password = environ.get("MLFLOW_TRACKING_PASSWORD", "")
        if user and password:
            self._add_login(user, password)

    def add_url_credentials(self, url: str) -> None:
        """The password of a URL (``MLFLOW_TRACKING_URI``'s ``https://user:pass@host``) as
        written, as decoded, and in the forms a server's error may echo it: ``user:pass`` and
        the Basic header's base64 of it."""
        try:
            parts = urlsplit(url.strip())
            written_user, written_password = parts.username, parts.password
        except ValueError:
            return  # not a URL after all
        if not written_password:
            return
        self.add(written_password)
        self._add_login(unquote(written_user or ""), unquote(written_password))

    def _add_login(self, user: str, password: str) -> None:
        self.add(password)
        login = f"{user}:{password}"
        self.add(login)
        self.add(base64.b64encode(login.encode()).decode())

    def mask(self, text: str) -> str:
        # Longest first, so a secret that contains another is hidden whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.mask(record.getMessage())
            record.args = None
            if record.exc_text:
                record.exc_text = self.mask(record.exc_text)
        return True


def write_annotations(annotations: Iterable[Annotation], stream: TextIO) -> None:
    for annotation in annotations:
        stream.write(annotation.render() + "\n")


class GitHubActions:
    """The CiHost port: workflow commands on ``stream`` (stderr), outputs and the summary in
    the files the runner names; outside Actions, outputs and the summary go nowhere."""

    def __init__(self, environ: Mapping[str, str], stream: TextIO) -> None:
        self._environ = environ
        self._stream = stream

    def running(self) -> bool:
        return running_in_actions(self._environ)

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        set_outputs(outputs, self._environ)

    def append_summary(self, markdown: str) -> None:
        if self._environ.get("GITHUB_STEP_SUMMARY"):
            append_summary(markdown, self._environ)

    def annotate(self, level: str, message: str, *, file: str, line: int, column: int) -> None:
        if level not in ("error", "warning", "notice"):
            raise ValueError(f"no annotation level {level!r}")
        annotation = Annotation(
            level,  # type: ignore[arg-type]
            message,
            file=file,
            line=line,
            column=column,
            title="mlops-ci manifest",
        )
        write_annotations([annotation], self._stream)

    def pull_request_number(self) -> int | None:
        return pull_request_number(self._environ)
