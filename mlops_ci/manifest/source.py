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

import bisect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeAlias

import yaml

from mlops_ci.errors import ManifestError, ManifestIssue

JsonPath: TypeAlias = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_VALUES = 100_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema), plain scalars only.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
# The first characters of YAML 1.2 core nulls, booleans, integers and floats.
_MAY_START_A_NON_STRING = frozenset("~nNtTfF+-.0123456789")
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_KEY = "<<"


class _Mark(Protocol):
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
Where: TypeAlias = Position | _Mark


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
            return _as_position(self.key_positions[path], self.lines)
        for end in range(len(path), -1, -1):
            found = self.value_positions.get(path[:end])
            if found is not None:
                return _as_position(found, self.lines)
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


def read_source(path: str, display: str | None = None) -> SourceDocument:
    """Read and parse one YAML file; raises ManifestError naming the file on any problem."""
    shown = display or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ManifestError([_at(shown, 1, 1, "no such file; pass the manifest with -f")]) from None
    except IsADirectoryError:
        raise ManifestError([_at(shown, 1, 1, "is a folder, not a manifest file")]) from None
    except OSError as error:
        raise ManifestError([_at(shown, 1, 1, f"cannot be read: {error.strerror}")]) from None
    return parse_source(raw, shown)


def parse_source(raw: bytes, file: str) -> SourceDocument:
    """Parse YAML bytes (at most MAX_BYTES) into a SourceDocument."""
    text = _decode(raw, file)
    lines = LineIndex.of(text)
    builder = _Builder(file, lines)
    parser = _Loader(text)
    try:
        builder.run(parser.get_event)
    except yaml.MarkedYAMLError as error:
        raise ManifestError([*builder.issues, _syntax_issue(error, text, file, lines)]) from None
    except yaml.YAMLError as error:  # pragma: no cover - libyaml reports reader errors unmarked
        raise ManifestError([_at(file, 1, 1, f"is not valid YAML: {error}")]) from None
    finally:
        parser.dispose()
    if builder.issues:
        raise ManifestError(builder.issues)
    if builder.root is None:
        raise ManifestError(
            [
                _at(
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
                _at(
                    file,
                    1,
                    1,
                    f"the manifest must be a mapping of keys (apiVersion, model, ...), not {kind}",
                )
            ]
        )
    return SourceDocument(file, builder.root, builder.value_positions, builder.key_positions, lines)


def _at(file: str, line: int, column: int, message: str) -> ManifestIssue:
    return ManifestIssue(file=file, line=line, column=column, message=message)


def _decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_BYTES:
        raise ManifestError(
            [
                _at(
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
            [_at(file, line, 1, "this is a binary file, not a YAML manifest (it holds NUL bytes)")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise ManifestError(
            [_at(file, line, column, "the file is not UTF-8 text; save it as UTF-8")]
        ) from None
    return text


def _syntax_issue(
    error: yaml.MarkedYAMLError, text: str, file: str, index: LineIndex | None = None
) -> ManifestIssue:
    mark = error.problem_mark or error.context_mark
    line, column = _as_position(mark, index) if mark else (1, 1)
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
            where = _as_position(started, index)
            message += (
                f" ({error.context.strip()} that starts at line {where.line}, "
                f"column {where.column})"
            )
    return _at(file, line, column, message)


@dataclass(slots=True)
class _Open:
    """A mapping or sequence being filled, and what the next event fills in."""

    value: dict[str, Any] | list[Any]
    path: JsonPath
    pending_key: str | None = None
    pending_key_position: Where | None = None
    merges: list[tuple[Any, Position]] = field(default_factory=list)
    size: int = 1
    skipping: bool = False
    merging: bool = False

    def skip_entry(self) -> None:
        """Drop the entry whose key was invalid (and already reported)."""
        self.pending_key = ""
        self.skipping = True


class _Builder:
    """Turns a YAML event stream into plain data, positions and issues."""

    def __init__(self, file: str, lines: LineIndex | None = None) -> None:
        self.file = file
        self.lines = lines
        self.root: Any = None
        self.issues: list[ManifestIssue] = []
        self.value_positions: dict[JsonPath, Where] = {}
        self.key_positions: dict[JsonPath, Where] = {}
        self._stack: list[_Open] = []
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._open_anchors: list[str | None] = []
        self._expanded = 0
        self._documents = 0

    def run(self, next_event: Callable[[], yaml.Event]) -> None:
        # The parser's own get_event, not yaml.parse(): its generator alone took a fifth of
        # the time of reading a manifest.
        while True:
            event = next_event()
            if type(event) is yaml.StreamEndEvent:
                return
            # Scalars are most events: test for them first, and take plain ones on a short
            # path; a monorepo's thousand manifests go through here.
            if type(event) is yaml.ScalarEvent:
                if not self._plain_scalar(event):
                    self._scalar(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self._documents += 1
                if self._documents > 1:
                    self._fail(
                        event,
                        "the file holds more than one YAML document (---); a "
                        "manifest is one document",
                    )
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self._start(event)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self._end()

    # -- events -------------------------------------------------------------------------

    def _plain_scalar(self, event: yaml.ScalarEvent) -> bool:
        """Take the common scalar (no anchor, no tag, a fresh key or a value) in one step.

        Returns False for anything else, which the general path then handles and reports.
        """
        if not self._stack or event.anchor is not None or event.tag is not None:
            return False
        top = self._stack[-1]
        if top.merging or top.skipping or self._expanded >= MAX_EXPANDED_VALUES:
            return False
        # The parser's own mark: turned into a Position only if a message needs it.
        position = event.start_mark
        if position is None:  # pragma: no cover - libyaml marks every event
            return False
        container = top.value
        if isinstance(container, list):
            self.value_positions[(*top.path, len(container))] = position
            container.append(self._resolve(event))
        else:
            key = top.pending_key
            if key is None:  # this scalar is a key
                name = event.value
                if name in container or name == _MERGE_KEY:
                    return False
                top.pending_key = name
                top.pending_key_position = position
                return True
            top.pending_key = None
            container[key] = self._resolve(event)
            if top.pending_key_position is not None:
                self.key_positions[(*top.path, key)] = top.pending_key_position
            self.value_positions[(*top.path, key)] = position
        top.size += 1
        self._expanded += 1
        return True

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        self._check_tag(event)
        if self._awaiting_key():
            self._take_key(event)
            return
        value = self._resolve(event)
        self._count(event, 1)
        self._remember_anchor(event.anchor, value, 1)
        self._place(value, _position(event, self.lines), 1)

    def _alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor not in self._anchors:  # pragma: no cover - libyaml rejects it first
            self._fail(event, f"the alias *{event.anchor} names no anchor")
            return
        value, size = self._anchors[event.anchor]
        if self._awaiting_key():
            self._fail(event, "an alias cannot be a key; write the key out")
            self._stack[-1].skip_entry()
            return
        self._count(event, size)
        self._place(value, _position(event, self.lines), size)

    def _start(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        if event.tag is not None:
            self._check_tag(event)
        if self._awaiting_key():
            self._fail(event, "a key must be plain text, not a list or mapping")
            self._stack[-1].skip_entry()
        if len(self._stack) >= MAX_DEPTH:
            raise ManifestError(
                [
                    *self.issues,
                    self._issue(
                        event,
                        f"nested deeper than {MAX_DEPTH} levels; a manifest is never that deep",
                    ),
                ]
            )
        self._count(event, 1)
        path = self._child_path()
        container: dict[str, Any] | list[Any] = (
            {} if isinstance(event, yaml.MappingStartEvent) else []
        )
        self.value_positions[path] = event.start_mark or Position(1, 1)
        self._stack.append(_Open(container, path))
        self._open_anchors.append(event.anchor)

    def _end(self) -> None:
        finished = self._stack.pop()
        anchor = self._open_anchors.pop()
        if finished.merges:
            self._apply_merges(finished)
        if anchor is not None:
            self._remember_anchor(anchor, finished.value, finished.size)
        self._place(finished.value, None, finished.size)

    # -- helpers ------------------------------------------------------------------------

    def _awaiting_key(self) -> bool:
        top = self._stack[-1] if self._stack else None
        return top is not None and isinstance(top.value, dict) and top.pending_key is None

    def _take_key(self, event: yaml.ScalarEvent) -> None:
        # Keys are kept as their text: JSON, and so the schema, only has string keys.
        top = self._stack[-1]
        key = event.value
        position = _position(event, self.lines)
        if key == _MERGE_KEY and event.implicit[0]:  # plain <<, not a quoted "<<"
            top.pending_key = _MERGE_KEY
            top.merging = True
        else:
            if isinstance(top.value, dict) and key in top.value:
                seen = self.key_positions.get((*top.path, key))
                first = _as_position(seen, self.lines) if seen is not None else None
                where = f" (first at line {first.line})" if first else ""
                self._fail(
                    event,
                    f"duplicate key {quote(key)}{where}; YAML keeps only one, "
                    "so remove or rename the other",
                )
            top.pending_key = key
        top.pending_key_position = position

    def _place(self, value: Any, position: Position | None, size: int) -> None:
        if not self._stack:
            self.root = value
            if position is not None:
                self.value_positions[()] = position
            return
        top = self._stack[-1]
        top.size += size
        if isinstance(top.value, list):
            index = len(top.value)
            top.value.append(value)
            if position is not None:
                self.value_positions[(*top.path, index)] = position
            return
        key = top.pending_key
        top.pending_key = None
        if top.merging:
            top.merging = False
            where = position or top.pending_key_position or Position(1, 1)
            top.merges.append((value, _as_position(where, self.lines)))
            return
        if key is None or top.skipping:
            top.skipping = False
            return  # the entry of an invalid key, already reported
        if key not in top.value:
            top.value[key] = value
            if top.pending_key_position is not None:
                self.key_positions[(*top.path, key)] = top.pending_key_position
            if position is not None:
                self.value_positions[(*top.path, key)] = position

    def _apply_merges(self, target: _Open) -> None:
        """YAML merge keys (``<<: *defaults``): explicit keys win, then earlier merges."""
        if not isinstance(target.value, dict):  # pragma: no cover - only mappings merge
            return
        sources: list[Any] = []
        for value, position in target.merges:
            for source in value if isinstance(value, list) else [value]:
                if not isinstance(source, dict):
                    self.issues.append(
                        _at(
                            self.file,
                            position.line,
                            position.column,
                            "a merge key (<<) takes a mapping or a list of mappings",
                        )
                    )
                    continue
                sources.append((source, position))
        for source, position in sources:
            for key, item in source.items():
                if key not in target.value:
                    target.value[key] = item
                    self.value_positions.setdefault((*target.path, key), position)
                    self.key_positions.setdefault((*target.path, key), position)

    def _child_path(self) -> JsonPath:
        if not self._stack:
            return ()
        top = self._stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        key = top.pending_key
        return (
            (*top.path, key)
            if key is not None and not top.merging and not top.skipping
            else (*top.path, "<<")
        )

    def _remember_anchor(self, anchor: str | None, value: Any, size: int) -> None:
        if anchor is not None:
            self._anchors[anchor] = (value, size)

    def _count(self, event: yaml.Event, size: int) -> None:
        self._expanded += size
        if self._expanded > MAX_EXPANDED_VALUES:
            raise ManifestError(
                [
                    *self.issues,
                    self._issue(
                        event,
                        f"aliases expand to more than "
                        f"{MAX_EXPANDED_VALUES:,} values; this looks like "
                        "an alias bomb, write the values out instead",
                    ),
                ]
            )

    def _check_tag(
        self, event: yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent
    ) -> None:
        tag = event.tag
        if tag in (None, "!") or (tag == _STR_TAG and isinstance(event, yaml.ScalarEvent)):
            return
        self._fail(
            event,
            f"explicit YAML tags such as {quote(tag)} are not allowed in a "
            "manifest; remove the tag",
        )

    def _resolve(self, event: yaml.ScalarEvent) -> Any:
        text = event.value
        if not event.implicit[0] or event.tag == _STR_TAG:
            return text
        if text and text[0] not in _MAY_START_A_NON_STRING:
            return text  # most scalars are words: skip the regular expressions
        if _NULL.match(text):
            return None
        if _BOOL.match(text):
            return text[0] in "tT"
        if _INT.match(text):
            if text.startswith(("0o", "0x")):
                return int(text[2:], 8 if text[1] == "o" else 16)
            return int(text)
        if _FLOAT.match(text):
            return float(
                text.replace(".inf", "inf")
                .replace(".Inf", "inf")
                .replace(".INF", "inf")
                .replace(".nan", "nan")
                .replace(".NaN", "nan")
                .replace(".NAN", "nan")
            )
        return text

    def _issue(self, event: yaml.Event, message: str) -> ManifestIssue:
        position = _position(event, self.lines)
        return _at(self.file, position.line, position.column, message)

    def _fail(self, event: yaml.Event, message: str) -> None:
        self.issues.append(self._issue(event, message))


def _as_position(where: Where, lines: LineIndex | None = None) -> Position:
    """A Position from a Position or from a libyaml mark, which is 0-based."""
    if isinstance(where, Position):
        return where
    if lines is not None:
        return lines.position(where.index)
    return Position(where.line + 1, where.column + 1)


def _position(event: yaml.Event, lines: LineIndex | None = None) -> Position:
    mark = event.start_mark
    if mark is None:
        return Position(1, 1)
    return _as_position(mark, lines)


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
