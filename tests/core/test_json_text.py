"""JSON output that strict parsers accept, whatever numbers reached it."""

from __future__ import annotations

import json
import math

import pytest

from mlops_ci.core.json_text import strict_dumps


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"bare {constant}")

    return json.loads(text, parse_constant=refuse)


def test_numbers_that_are_not_finite_are_written_as_null() -> None:
    value = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": ({"d": math.nan},), "e": 2}
    assert _strict(strict_dumps(value)) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": [{"d": None}],
        "e": 2,
    }


def test_a_bare_nan_is_what_a_strict_parser_refuses() -> None:
    with pytest.raises(ValueError, match="bare NaN"):
        _strict(json.dumps({"a": math.nan}))
