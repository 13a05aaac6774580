"""Commands from the manifest, which run without a shell."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# Characters that give a POSIX shell-like split something to do beyond whitespace.
_QUOTING = frozenset("'\"\\")


def split_command(text: str) -> list[str]:
    """Split a command string into arguments like a shell would (quotes work; pipes, globs
    and variables do not). Raises ValueError for an unclosed quote."""
    if _QUOTING.isdisjoint(text):
        return text.split()  # the same answer as shlex, at a fraction of the cost
    return shlex.split(text)


@dataclass(frozen=True)
class Command:
    """A command's arguments, placeholders (``{artifacts}``) not yet filled in."""

    argv: tuple[str, ...]
    timeout: timedelta


@dataclass(frozen=True)
class CommandResult:
    """How a command ran: ``exit_code`` is None when it was stopped at its timeout; its
    output is in ``log``, and ``output_tail`` holds its last lines."""

    argv: tuple[str, ...]
    exit_code: int | None
    seconds: float
    peak_rss_bytes: int
    log: Path
    output_tail: str = ""

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None
