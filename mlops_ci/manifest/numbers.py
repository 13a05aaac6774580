"""Numbers a manifest cannot mean: ``.nan``, ``.inf``, ``-.inf`` and numbers too large to
hold (``1e400``, a 400-digit integer). JSON has none of them, so the schema cannot speak of
them, and each would break the rest quietly: a gate against NaN never fails, and turning
infinity into a size or a count raises. They are refused wherever they stand, and the
schema and semantic checks see the manifest without them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.positions import JsonPath, render_path
from mlops_ci.manifest.source import SourceDocument


def non_finite_issues(document: SourceDocument) -> list[ManifestIssue]:
    """One issue for every number in ``document`` that is not a finite one."""
    return [
        document.issue(path, f"{render_path(path) or 'the manifest'} {why}")
        for path, why in _non_finite(document.data, ())
    ]


def without_non_finite(value: Any) -> Any:
    """``value`` with each number that is not finite left out (None, as if not set)."""
    if isinstance(value, dict):
        return {key: without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_non_finite(item) for item in value]
    return None if _is_non_finite(value) else value


def _is_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and not _fits_a_float(value)


def _non_finite(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, (*path, index))
    elif isinstance(value, float) and _is_non_finite(value):
        yield path, _why(value)
    elif _is_non_finite(value):
        yield path, "is a number too large to mean anything here; write a smaller one"


def _why(value: float) -> str:
    if math.isnan(value):
        return "is .nan, which is not a number; write a number"
    sign = "-" if value < 0 else ""
    return (
        f"is {sign}.inf (or a number too large to hold, such as {sign}1e400); write a finite number"
    )


def _fits_a_float(value: int) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
