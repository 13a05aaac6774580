"""The compiled check must agree with jsonschema, the authority, on every value."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from mlops_ci.manifest.fastcheck import UnsupportedKeyword, compile_schema, json_equal
from mlops_ci.manifest.schema import _validator
from mlops_ci.manifest.schema_file import manifest_schema
from tests.manifest.strategies import EXAMPLE_DATA, EXAMPLE_PATHS, JSON_VALUES

SCHEMA = manifest_schema()
AUTHORITY = Draft202012Validator(SCHEMA)
FAST = compile_schema(SCHEMA)


def replaced(path: tuple[Any, ...], value: Any) -> Any:
    data = json.loads(json.dumps(EXAMPLE_DATA))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(EXAMPLE_PATHS), value=JSON_VALUES)
def test_agrees_with_jsonschema_on_the_example_with_one_value_replaced(
    path: tuple[Any, ...], value: Any
) -> None:
    data = replaced(path, value)
    assert FAST(data) == AUTHORITY.is_valid(data)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(EXAMPLE_PATHS),
    value=st.sampled_from([float("inf"), float("-inf"), float("nan")]),
)
def test_agrees_with_the_loaders_validator_on_non_finite_numbers(
    path: tuple[Any, ...], value: float
) -> None:
    # JSON has no NaN or infinity: plain jsonschema takes them as numbers, the loader's
    # validator and the fast check both refuse them.
    data = replaced(path, value)
    assert FAST(data) is False
    assert FAST(data) == _validator().is_valid(data)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(instance=from_schema(copy.deepcopy(SCHEMA)))
def test_accepts_what_the_schema_generates(instance: dict[str, Any]) -> None:
    assert FAST(instance)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, [1, 1.0, -3], [1.5, True, "1", None]),
        ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "b", [1]]),
        ({"const": [1, {"a": False}]}, [[1, {"a": False}]], [[1, {"a": 0}], [True, {"a": False}]]),
        (
            {"uniqueItems": True},
            [[1, True], ["a", "b"], "not a list"],
            [[1, 1.0], [{"a": 1}, {"a": 1}]],
        ),
        ({"minimum": 0, "exclusiveMaximum": 10}, [0, 9.9, True, "x"], [-1, 10]),
        ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, [1.5], [1, "x"]),
        (
            {
                "additionalProperties": False,
                "patternProperties": {"^x-": {}},
                "properties": {"a": {}},
            },
            [{"a": 1, "x-y": 2}],
            [{"b": 1}],
        ),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, [{"ab": 1}], [{"A": 1}]),
        ({"minProperties": 1, "required": ["a"]}, [{"a": 1}], [{}, {"b": 1}]),
    ],
)
def test_keywords_against_jsonschema(
    schema: dict[str, Any], good: list[Any], bad: list[Any]
) -> None:
    check = compile_schema(schema)
    authority = Draft202012Validator(schema)
    for value in good:
        assert check(value), value
        assert authority.is_valid(value), value
    for value in bad:
        assert not check(value), value
        assert not authority.is_valid(value), value


def test_unknown_keywords_are_refused_when_compiling() -> None:
    with pytest.raises(UnsupportedKeyword, match="'unevaluatedProperties'"):
        compile_schema({"unevaluatedProperties": False})
    with pytest.raises(UnsupportedKeyword, match="only local references"):
        compile_schema({"$ref": "https://example.com/schema.json"})


def test_json_equality() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal([1], {"a": 1})
    assert json_equal({"a": [1, 2]}, {"a": [1.0, 2]})
