"""A YAML event stream (PyYAML's, libyaml when present) built into plain data and the
position of every value, strictly: duplicate keys, explicit tags and complex keys are issues,
and nesting depth and alias expansion are bounded before anything recurses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from mlops_ci.errors import ManifestError, ManifestIssue
from mlops_ci.manifest.positions import (
    JsonPath,
    LineIndex,
    Position,
    Where,
    as_position,
    event_position,
    issue_at,
    quote,
)
from mlops_ci.manifest.yaml_nodes import OpenNode, apply_merges
from mlops_ci.manifest.yaml_scalars import MERGE_KEY, resolve_scalar, tag_problem

MAX_DEPTH = 64
MAX_EXPANDED_VALUES = 100_000


class EventBuilder:
    """Turns a YAML event stream into plain data, positions and issues."""

    def __init__(self, file: str, lines: LineIndex | None = None) -> None:
        self.file = file
        self.lines = lines
        self.root: Any = None
        self.issues: list[ManifestIssue] = []
        self.value_positions: dict[JsonPath, Where] = {}
        self.key_positions: dict[JsonPath, Where] = {}
        self._stack: list[OpenNode] = []
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
            container.append(resolve_scalar(event))
        else:
            key = top.pending_key
            if key is None:  # this scalar is a key
                name = event.value
                if name in container or name == MERGE_KEY:
                    return False
                top.pending_key = name
                top.pending_key_position = position
                return True
            top.pending_key = None
            container[key] = resolve_scalar(event)
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
        value = resolve_scalar(event)
        self._count(event, 1)
        self._remember_anchor(event.anchor, value, 1)
        self._place(value, event_position(event, self.lines), 1)

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
        self._place(value, event_position(event, self.lines), size)

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
        self._stack.append(OpenNode(container, path))
        self._open_anchors.append(event.anchor)

    def _end(self) -> None:
        finished = self._stack.pop()
        anchor = self._open_anchors.pop()
        if finished.merges:
            self.issues += apply_merges(
                self.file, self.value_positions, self.key_positions, finished
            )
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
        position = event_position(event, self.lines)
        if key == MERGE_KEY and event.implicit[0]:  # plain <<, not a quoted "<<"
            top.pending_key = MERGE_KEY
            top.merging = True
        else:
            if isinstance(top.value, dict) and key in top.value:
                seen = self.key_positions.get((*top.path, key))
                first = as_position(seen, self.lines) if seen is not None else None
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
            top.merges.append((value, as_position(where, self.lines)))
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
        problem = tag_problem(event)
        if problem:
            self._fail(event, problem)

    def _issue(self, event: yaml.Event, message: str) -> ManifestIssue:
        position = event_position(event, self.lines)
        return issue_at(self.file, position.line, position.column, message)

    def _fail(self, event: yaml.Event, message: str) -> None:
        self.issues.append(self._issue(event, message))
