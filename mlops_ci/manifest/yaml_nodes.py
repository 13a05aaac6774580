"""The mappings and sequences a YAML event stream has opened and not yet closed, and YAML
merge keys (``<<``) applied to a mapping when it closes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.positions import JsonPath, Position, Where, issue_at


@dataclass(slots=True)
class OpenNode:
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


def apply_merges(
    file: str,
    value_positions: dict[JsonPath, Where],
    key_positions: dict[JsonPath, Where],
    target: OpenNode,
) -> list[ManifestIssue]:
    """YAML merge keys (``<<: *defaults``): explicit keys win, then earlier merges; the
    issues of merges that are not mappings."""
    issues: list[ManifestIssue] = []
    if not isinstance(target.value, dict):  # pragma: no cover - only mappings merge
        return issues
    sources: list[Any] = []
    for value, position in target.merges:
        for source in value if isinstance(value, list) else [value]:
            if not isinstance(source, dict):
                issues.append(
                    issue_at(
                        file,
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
                value_positions.setdefault((*target.path, key), position)
                key_positions.setdefault((*target.path, key), position)
    return issues
