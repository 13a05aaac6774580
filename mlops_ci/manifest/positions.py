"""Where a value stands in a manifest: 1-based lines and columns as editors count them,
paths in the document, and issues at a position."""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple, Protocol, TypeAlias

import yaml

from mlops_ci.errors import ManifestIssue

JsonPath: TypeAlias = tuple[str | int, ...]


class Mark(Protocol):
    """libyaml's mark of where an event starts: 0-based; ``index`` counts characters."""

    @property
    def index(self) -> int: ...

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class Position(NamedTuple):
    """A 1-based line and column (a tuple: one is made for every value of every manifest)."""

    line: int
    column: int


# Where a value stands: a Position, or the parser's mark until a message needs a Position.
Where: TypeAlias = Position | Mark


def render_path(path: JsonPath) -> str:
    """``("data", 0, "checks")`` → ``data[0].checks``; the root is ``(root)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(root)"


def quote(value: object, limit: int = 60) -> str:
    """Show an untrusted value in a message: one line, printable, bounded in length.

    Escaping control characters also keeps a crafted value from forging GitHub workflow
    commands (``::add-mask::``) when the message is printed under Actions.
    """
    text = value if isinstance(value, str) else repr(value)
    shown = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"'{shown}'"


def issue_at(file: str, line: int, column: int, message: str) -> ManifestIssue:
    return ManifestIssue(file=file, line=line, column=column, message=message)


def as_position(where: Where, lines: LineIndex | None = None) -> Position:
    """A Position from a Position or from a libyaml mark, which is 0-based."""
    if isinstance(where, Position):
        return where
    if lines is not None:
        return lines.position(where.index)
    return Position(where.line + 1, where.column + 1)


def event_position(event: yaml.Event, lines: LineIndex | None = None) -> Position:
    mark = event.start_mark
    if mark is None:
        return Position(1, 1)
    return as_position(mark, lines)


class LineIndex:
    """Lines as git, GitHub and editors count them: libyaml also breaks lines at a lone CR,
    NEL, U+2028 and U+2029, so in a text that holds one its marks' lines are not the file's.
    Only such texts get an index (the mark's character offset gives the position)."""

    _OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")

    def __init__(self, text: str) -> None:
        self._starts = [0, *(match.end() for match in re.finditer("\n", text))]

    @classmethod
    def of(cls, text: str) -> LineIndex | None:
        return cls(text) if any(b in text for b in cls._OTHER_BREAKS) else None

    def position(self, index: int) -> Position:
        line = bisect.bisect_right(self._starts, index)
        return Position(line, index - self._starts[line - 1] + 1)
