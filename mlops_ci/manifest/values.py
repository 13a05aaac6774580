"""Reading a parsed document's plain data safely: a value at a path, a mapping, a list's
items, each empty where the document holds something else (the schema has said so)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def get_value(data: Any, *path: str | int) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []
