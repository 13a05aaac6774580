"""jsonschema's errors as sentences a person can act on: what the value is, what the
schema wanted, and the closest allowed key or value."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_ci.manifest.positions import quote
from mlops_ci.manifest.schema_file import manifest_schema

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def sentence(error: ValidationError) -> str:
    """What is wrong with ``error.instance``, as the end of a sentence about its path."""
    keyword, expected, schema = error.validator, expected_value(error), schema_of(error)
    value: Any = error.instance
    if keyword == "type":
        return _wrong_type(expected, value)
    if keyword == "enum":
        choices = [str(choice) for choice in expected]
        return f"must be one of {', '.join(choices)}, not {quote(value)}" + did_you_mean(
            str(value), choices
        )
    if keyword == "const":
        return f"must be {quote(expected)}, not {quote(value)}"
    if keyword == "pattern":
        told = schema.get("patternErrorMessage")
        return (
            f"is {quote(value)}, but {told}"
            if told
            else f"is {quote(value)}, which does not match {quote(expected)}"
        )
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"needs at least {expected} characters"
    if keyword == "maxLength":
        return f"is longer than {expected} characters"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "greater than",
            "exclusiveMaximum": "less than",
        }
        return f"must be {words[keyword]} {expected}, not {value}"
    if keyword == "minItems":
        return "must not be empty" if expected == 1 else f"needs at least {expected} items"
    if keyword == "maxItems":
        return f"has more than {expected} items"
    if keyword == "uniqueItems":
        return f"lists {quote(_first_repeat(value))} more than once; list each item once"
    if keyword == "minProperties":
        names = ", ".join(schema.get("properties", {}))
        return f"is empty; give at least one of: {names}"
    if keyword in ("oneOf", "anyOf"):
        return _no_branch_fits(error)
    return f"is invalid: {error.message}"  # pragma: no cover - keywords the schema does not use


def _no_branch_fits(error: ValidationError) -> str:
    branches: Sequence[Mapping[str, Any]] = expected_value(error)
    keys = [branch.get("required", [None])[0] for branch in branches]
    if all(isinstance(key, str) for key in keys) and all(
        len(branch.get("required", [])) == 1 for branch in branches
    ):
        named = [key for key in keys if isinstance(error.instance, dict) and key in error.instance]
        choices = " or ".join(f"{key}: ..." for key in keys)
        if len(named) > 1:
            return f"names {' and '.join(named)}; give exactly one ({choices})"
        if not named:
            return f"needs exactly one of {choices}"
    described = first_sentence(schema_of(error).get("description"))
    kinds = " or ".join(_type_names(branches))
    return f"must be {kinds}, not {_kind(error.instance)}" + (
        f" ({described})" if described else ""
    )


def branch_error(error: ValidationError) -> ValidationError | None:
    """The error of the one oneOf/anyOf branch the value was meant for, if that is clear.

    A branch is meant when the value has the branch's type and, for branches told apart by
    a required key, when the value names exactly that key.
    """
    branches: Sequence[Mapping[str, Any]] = expected_value(error)
    meant = set(range(len(branches)))
    if isinstance(error.instance, dict):
        keyed = {
            i
            for i, b in enumerate(branches)
            if len(b.get("required", [])) == 1 and b["required"][0] in error.instance
        }
        if len(keyed) == 1:
            meant = keyed
        elif all(len(b.get("required", [])) == 1 for b in branches):
            return None  # none or several keys named: say so about the whole value
    candidates = [
        sub
        for sub in error.context or []
        if sub.relative_schema_path[0] in meant and sub.validator != "type"
    ]
    from jsonschema.exceptions import best_match

    return best_match(candidates) if candidates else None


def _wrong_type(expected: str | list[str], value: Any) -> str:
    wanted = " or ".join(
        _type_word(t) for t in ([expected] if isinstance(expected, str) else expected)
    )
    hint = ""
    if "string" in expected and isinstance(value, int | float | bool):
        hint = "; YAML read it as a number or boolean, so put it in quotes"
    if value is None:
        return f"must be {wanted}, but it is empty"
    return f"must be {wanted}, not {_kind(value)} ({quote(value)}){hint}"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _type_word(name: str) -> str:
    return _TYPE_WORDS.get(name, name)


def _type_names(branches: Sequence[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for branch in branches:
        kind = branch.get("type")
        for name in [kind] if isinstance(kind, str) else (kind or []):
            if _type_word(name) not in names:
                names.append(_type_word(name))
    return names


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "empty"


def schema_of(error: ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else {}


def expected_value(error: ValidationError) -> Any:
    """The value of the keyword that failed (``["semver", "calver"]`` for an enum)."""
    return error.validator_value


def unexpected_keys(error: ValidationError) -> list[str]:
    schema = schema_of(error)
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    instance: dict[str, Any] = error.instance if isinstance(error.instance, dict) else {}
    extra = [key for key in instance if key not in known]
    if not patterns:
        return extra
    return [key for key in extra if not any(re.search(p, key) for p in patterns)]


def property_schema(schema: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = schema.get("properties", {}).get(name, {})
    if "$ref" in found and "description" not in found:
        ref = found["$ref"].removeprefix("#/$defs/")
        found = manifest_schema()["$defs"].get(ref, {})
    return found if isinstance(found, Mapping) else {}


def first_sentence(text: object) -> str:
    if not isinstance(text, str):
        return ""
    sentence = text.split(". ")[0].rstrip(".")
    return sentence[0].lower() + sentence[1:] if sentence else ""


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def _first_repeat(items: Sequence[Any]) -> Any:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return items[0] if items else None  # pragma: no cover - uniqueItems failed, so one repeats
