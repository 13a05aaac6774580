"""Edits of a user's file that change the bytes of one value and nothing else.

A round-trip YAML or HCL writer keeps comments but may still move things (line widths,
quotes, indentation of lists); a reviewer should see a one-line diff per change. So the
files are parsed to find where a value sits, and the text is spliced there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mlops_ci.errors import ExitStatus, MlopsCiError


class DeployFileError(MlopsCiError):
    """A deploy file that cannot be edited as asked: the message names the file and what
    to change in it."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True, order=True)
class Splice:
    """Replace columns ``start``..``end`` (0-based, end excluded) of ``line`` (0-based)."""

    line: int
    start: int
    end: int
    text: str


def value_splice(row: str, line: int, start: int, end: int, text: str) -> Splice:
    """A splice of a value followed by a comment: the gap before ``#`` grows or shrinks
    (to one space at least) so the comment stays in its column."""
    # The value may be closed by flow brackets first: `{slot: blue}    # live`.
    found = re.match(r"([\]},]*)( +)#", row[end:])
    if found is None:
        return Splice(line, start, end, text)
    closers, gap = found.group(1), len(found.group(2))
    wanted = max(1, gap + (end - start) - len(text))
    return Splice(line, start, end + len(closers) + gap, text + closers + " " * wanted)


def apply_splices(text: str, splices: Iterable[Splice]) -> str:
    lines = text.split("\n")
    ordered = sorted(splices, reverse=True)  # right to left: earlier columns stay valid
    for splice in ordered:
        row = lines[splice.line]
        lines[splice.line] = row[: splice.start] + splice.text + row[splice.end :]
    return "\n".join(lines)


def scalar_extent(line: str, start: int, *, flow: bool) -> tuple[int, str]:
    """Where the scalar starting at ``start`` ends, and its quote (``'``, ``"`` or none).
    A plain scalar ends at a comment, the end of the line, or (in a flow collection) at
    ``,``, ``}`` or ``]``."""
    quote = line[start] if start < len(line) and line[start] in "'\"" else ""
    if quote:
        position = start + 1
        while position < len(line):
            if quote == '"' and line[position] == "\\":
                position += 2
                continue
            if line[position] == quote:
                if quote == "'" and line[position + 1 : position + 2] == "'":
                    position += 2
                    continue
                return position + 1, quote
            position += 1
        return -1, quote  # the string goes on to the next line
    end = len(line)
    comment = line.find(" #", start)
    if comment >= 0:
        end = comment
    if flow:
        for stop in ",}]":
            found = line.find(stop, start, end)
            if found >= 0:
                end = found
    return len(line[start:end].rstrip()) + start, ""


def quoted(value: str, quote: str) -> str:
    if quote == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    return value
