"""JSON as strict parsers read it: a number that is not finite (NaN, an infinity), which
Python would write as a bare ``NaN`` that JSON has no word for, is written as null."""

from __future__ import annotations

import json
import math
from typing import Any


def strict_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` of ``value`` with every non-finite float as null."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
