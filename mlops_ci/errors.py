"""The one error hierarchy: every error the tool raises on purpose derives from MlopsCiError.

Each error carries the exit status it maps to (DESIGN.md, "The CLI") and a message that
names the offending value and says what to do. Anything else that escapes is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitStatus(IntEnum):
    PASSED = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    SERVICE_FAILED = 3
    BUG = 4


class MlopsCiError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_status: ExitStatus = ExitStatus.BUG


class UsageError(MlopsCiError):
    """Bad arguments, options or environment settings."""

    exit_status = ExitStatus.BAD_INPUT


class ServiceError(MlopsCiError):
    """An outside service (MLflow, a registry, GitHub) failed after retries."""

    exit_status = ExitStatus.SERVICE_FAILED


@dataclass(frozen=True, order=True)
class ManifestIssue:
    """One problem in a manifest, at a position a person can jump to.

    ``line`` and ``column`` are 1-based. ``path`` is the dotted location of the value in the
    document (``data[0].checks.range``); ``schema_path`` is the JSON Pointer of the schema
    keyword the value breaks (``#/properties/model/properties/version/pattern``).
    """

    file: str
    line: int
    column: int
    message: str
    path: str = ""
    schema_path: str = ""

    def render(self) -> str:
        where = f" [{self.schema_path}]" if self.schema_path else ""
        return f"{self.file}:{self.line}:{self.column}: {self.message}{where}"


class ManifestError(MlopsCiError):
    """A manifest that cannot be used; lists every problem found, sorted by position."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, issues: Iterable[ManifestIssue]) -> None:
        self.issues: Sequence[ManifestIssue] = tuple(
            sorted(issues, key=lambda i: (i.file, i.line, i.column, i.message))
        )
        if not self.issues:
            raise ValueError("ManifestError needs at least one issue")
        super().__init__("\n".join(issue.render() for issue in self.issues))
