"""Read a YAML file into plain data plus the line and column of every value.

The manifest is untrusted input, so this reader is stricter than a YAML library's defaults:
- YAML 1.2 core types only: ``no``, ``on`` and ``2024-01-01`` stay strings (no Norway problem);
- no explicit tags (``!!python/object``) and no complex keys;
- duplicate keys are errors, not silent overwrites;
- bounded size, nesting depth and alias expansion (no "billion laughs");
- every problem is a ``ManifestIssue`` with file, line and column; all are reported together.

It walks PyYAML's event stream (libyaml when present) instead of composing nodes, so deep
nesting is refused before anything recurses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_ci.errors import ManifestError, ManifestIssue
from mlops_ci.manifest.positions import (
    JsonPath,
    LineIndex,
    Position,
    Where,
    as_position,
    issue_at,
    quote,
    render_path,
)
from mlops_ci.manifest.yaml_builder import EventBuilder

MAX_BYTES = 1024 * 1024

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SourceDocument:
    """Plain data (dict, list, str, int, float, bool, None) and where each value stands."""

    file: str
    data: Any
    value_positions: Mapping[JsonPath, Where] = field(repr=False)
    key_positions: Mapping[JsonPath, Where] = field(repr=False)
    lines: LineIndex | None = field(default=None, repr=False)

    def position(self, path: JsonPath, *, key: bool = False) -> Position:
        """Where the value at ``path`` starts (or its key, with ``key=True``).

        Falls back to the nearest ancestor, so a missing property points at its parent.
        """
        if key and path in self.key_positions:
            return as_position(self.key_positions[path], self.lines)
        for end in range(len(path), -1, -1):
            found = self.value_positions.get(path[:end])
            if found is not None:
                return as_position(found, self.lines)
        return Position(1, 1)

    def issue(
        self, path: JsonPath, message: str, *, key: bool = False, schema_path: str = ""
    ) -> ManifestIssue:
        where = self.position(path, key=key)
        return ManifestIssue(
            file=self.file,
            line=where.line,
            column=where.column,
            message=message,
            path=render_path(path),
            schema_path=schema_path,
        )


def read_source(path: str, display: str | None = None) -> SourceDocument:
    """Read and parse one YAML file; raises ManifestError naming the file on any problem."""
    shown = display or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ManifestError(
            [issue_at(shown, 1, 1, "no such file; pass the manifest with -f")]
        ) from None
    except IsADirectoryError:
        raise ManifestError([issue_at(shown, 1, 1, "is a folder, not a manifest file")]) from None
    except OSError as error:
        raise ManifestError([issue_at(shown, 1, 1, f"cannot be read: {error.strerror}")]) from None
    return parse_source(raw, shown)


def parse_source(raw: bytes, file: str) -> SourceDocument:
    """Parse YAML bytes (at most MAX_BYTES) into a SourceDocument."""
    text = _decode(raw, file)
    lines = LineIndex.of(text)
    builder = EventBuilder(file, lines)
    parser = _Loader(text)
    try:
        builder.run(parser.get_event)
    except yaml.MarkedYAMLError as error:
        raise ManifestError([*builder.issues, _syntax_issue(error, text, file, lines)]) from None
    except yaml.YAMLError as error:  # pragma: no cover - libyaml reports reader errors unmarked
        raise ManifestError([issue_at(file, 1, 1, f"is not valid YAML: {error}")]) from None
    finally:
        parser.dispose()
    if builder.issues:
        raise ManifestError(builder.issues)
    if builder.root is None:
        raise ManifestError(
            [
                issue_at(
                    file,
                    1,
                    1,
                    "the manifest is empty; start from `mlops-ci manifest schema` or "
                    "examples/churn/mlops.yaml",
                )
            ]
        )
    if not isinstance(builder.root, dict):
        kind = "a list" if isinstance(builder.root, list) else f"the value {quote(builder.root)}"
        raise ManifestError(
            [
                issue_at(
                    file,
                    1,
                    1,
                    f"the manifest must be a mapping of keys (apiVersion, model, ...), not {kind}",
                )
            ]
        )
    return SourceDocument(file, builder.root, builder.value_positions, builder.key_positions, lines)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_BYTES:
        raise ManifestError(
            [
                issue_at(
                    file,
                    1,
                    1,
                    f"the file is larger than {MAX_BYTES // 1024} KiB; a manifest is a "
                    "short text file: keep data and models out of it",
                )
            ]
        )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ManifestError(
            [
                issue_at(
                    file, line, 1, "this is a binary file, not a YAML manifest (it holds NUL bytes)"
                )
            ]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise ManifestError(
            [issue_at(file, line, column, "the file is not UTF-8 text; save it as UTF-8")]
        ) from None
    return text


def _syntax_issue(
    error: yaml.MarkedYAMLError, text: str, file: str, index: LineIndex | None = None
) -> ManifestIssue:
    mark = error.problem_mark or error.context_mark
    line, column = as_position(mark, index) if mark else (1, 1)
    problem = (error.problem or "").strip()
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the text ends with a line break
    if line > len(lines):  # the parser ran off the end: point at the end of the last line
        line, column = len(lines), len(lines[-1]) + 1
    source_line = lines[line - 1]
    if "\t" in problem or "\t" in source_line[: max(column, 1)]:
        tab = source_line.find("\t")
        column = tab + 1 if tab >= 0 else column
        message = (
            "a tab character here; YAML indents with spaces only, so replace the tab with spaces"
        )
    elif "expected a single document" in problem:
        message = "the file holds more than one YAML document (---); a manifest is one document"
    else:
        message = f"YAML syntax error: {problem}"
        if "mapping values are not allowed" in problem:
            message += "; check this line's indentation, and quote a value that holds ': '"
        started = error.context_mark
        if error.context and started is not None and started is not mark:
            where = as_position(started, index)
            message += (
                f" ({error.context.strip()} that starts at line {where.line}, "
                f"column {where.column})"
            )
    return issue_at(file, line, column, message)
