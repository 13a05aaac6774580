"""Validate a manifest against schemas/manifest.schema.json and say what is wrong in plain words.

The schema is the one source of truth for what is valid; this module only turns
jsonschema's errors into sentences a person can act on, each at the line and column of
the offending key or value.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.fastcheck import Check, compile_schema
from mlops_ci.manifest.positions import JsonPath, quote, render_path
from mlops_ci.manifest.source import SourceDocument

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "manifest.schema.json"


@cache
def manifest_schema() -> Mapping[str, Any]:
    """The manifest's JSON Schema, read once per process."""
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def _validator() -> Draft202012Validator:
    # Imported here: a valid manifest never needs jsonschema, and its import is a third of
    # the command's start-up.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(manifest_schema())


@cache
def _fast_check() -> Check:
    return compile_schema(manifest_schema())


def schema_issues(document: SourceDocument) -> list[ManifestIssue]:
    """Every way the document breaks the schema, one issue each, duplicates folded."""
    if _fast_check()(document.data):
        return []
    issues: dict[tuple[int, int, str], ManifestIssue] = {}
    for error in _validator().iter_errors(document.data):
        for issue in _translate(error, document):
            issues.setdefault((issue.line, issue.column, issue.message), issue)
    return list(issues.values())


def _translate(
    error: ValidationError, document: SourceDocument, within: str = ""
) -> Iterator[ManifestIssue]:
    path: JsonPath = tuple(error.absolute_path)
    keyword = error.validator
    # A pointer into the schema document that resolves, unlike jsonschema's own schema
    # path, which drops the $ref hops. Inside a oneOf/anyOf branch it starts at the branch.
    schema_path = within or f"{schema_location(path)}/{keyword}"
    if keyword in ("oneOf", "anyOf"):
        chosen = _branch_error(error)
        if chosen is not None:
            inner = "/".join(str(part) for part in chosen.relative_schema_path)
            yield from _translate(chosen, document, f"{schema_path}/{inner}")
            return
    if "propertyNames" in error.absolute_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        schema_path = f"{schema_location(path)}/propertyNames/{keyword}"
        key_path = (*path, str(error.instance))
        told = _schema_of(error).get("patternErrorMessage")
        why = f"but {told}" if keyword == "pattern" and told else f"which {_sentence(error)}"
        yield document.issue(
            key_path,
            f"{_where(path)} has the key {quote(error.instance)}, {why}",
            key=True,
            schema_path=schema_path,
        )
        return
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in _expected(error):
            if name not in present:
                hint = _first_sentence(_property_schema(_schema_of(error), name).get("description"))
                yield document.issue(
                    path,
                    f"{_where(path)} is missing the required key {quote(name)}"
                    + (f": {hint}" if hint else ""),
                    schema_path=schema_path,
                )
        return
    if keyword == "additionalProperties" and _expected(error) is False:
        known = list(_schema_of(error).get("properties", {}))
        for key in _unexpected_keys(error):
            yield document.issue(
                (*path, key),
                f"unknown key {quote(key)} in {_where(path)}"
                + _did_you_mean(key, known)
                + f"; allowed keys: {', '.join(known)}",
                key=True,
                schema_path=schema_path,
            )
        return
    yield document.issue(path, f"{render_path(path)} {_sentence(error)}", schema_path=schema_path)


def _where(path: JsonPath) -> str:
    return render_path(path) if path else "the manifest"


def _sentence(error: ValidationError) -> str:
    """What is wrong with ``error.instance``, as the end of a sentence about its path."""
    keyword, expected, schema = error.validator, _expected(error), _schema_of(error)
    value: Any = error.instance
    if keyword == "type":
        return _wrong_type(expected, value)
    if keyword == "enum":
        choices = [str(choice) for choice in expected]
        return f"must be one of {', '.join(choices)}, not {quote(value)}" + _did_you_mean(
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
    branches: Sequence[Mapping[str, Any]] = _expected(error)
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
    described = _first_sentence(_schema_of(error).get("description"))
    kinds = " or ".join(_type_names(branches))
    return f"must be {kinds}, not {_kind(error.instance)}" + (
        f" ({described})" if described else ""
    )


def _branch_error(error: ValidationError) -> ValidationError | None:
    """The error of the one oneOf/anyOf branch the value was meant for, if that is clear.

    A branch is meant when the value has the branch's type and, for branches told apart by
    a required key, when the value names exactly that key.
    """
    branches: Sequence[Mapping[str, Any]] = _expected(error)
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


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else {}


def _expected(error: ValidationError) -> Any:
    """The value of the keyword that failed (``["semver", "calver"]`` for an enum)."""
    return error.validator_value


def _unexpected_keys(error: ValidationError) -> list[str]:
    schema = _schema_of(error)
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    instance: dict[str, Any] = error.instance if isinstance(error.instance, dict) else {}
    extra = [key for key in instance if key not in known]
    if not patterns:
        return extra
    return [key for key in extra if not any(re.search(p, key) for p in patterns)]


def _property_schema(schema: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = schema.get("properties", {}).get(name, {})
    if "$ref" in found and "description" not in found:
        ref = found["$ref"].removeprefix("#/$defs/")
        found = manifest_schema()["$defs"].get(ref, {})
    return found if isinstance(found, Mapping) else {}


def _first_sentence(text: object) -> str:
    if not isinstance(text, str):
        return ""
    sentence = text.split(". ")[0].rstrip(".")
    return sentence[0].lower() + sentence[1:] if sentence else ""


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def _first_repeat(items: Sequence[Any]) -> Any:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return items[0] if items else None  # pragma: no cover - uniqueItems failed, so one repeats


def schema_location(path: JsonPath) -> str:
    """The JSON Pointer of the schema that describes the value at ``path``.

    Semantic checks use it so that their issues carry a schema path like the schema's own.
    """
    return _follow_ref(*_walk(path))[1]


@cache
def schema_default(*path: str | int) -> Any:
    """The schema's ``default`` for the value at ``path``: the loader's only source of them."""
    return _walk(path)[0]["default"]


def _walk(path: JsonPath) -> tuple[Mapping[str, Any], str]:
    schema: Mapping[str, Any] = manifest_schema()
    pointer = "#"
    for part in path:
        schema, pointer = _follow_ref(schema, pointer)
        if isinstance(part, int) and isinstance(schema.get("items"), Mapping):
            schema, pointer = schema["items"], f"{pointer}/items"
        elif isinstance(part, str) and part in schema.get("properties", {}):
            schema, pointer = schema["properties"][part], f"{pointer}/properties/{part}"
        elif isinstance(part, str) and isinstance(schema.get("additionalProperties"), Mapping):
            schema, pointer = schema["additionalProperties"], f"{pointer}/additionalProperties"
        else:
            branch = _branch_with(schema, part)
            if branch is None:
                break
            schema, pointer = branch[0], pointer + branch[1]
    return schema, pointer


def _follow_ref(schema: Mapping[str, Any], pointer: str) -> tuple[Mapping[str, Any], str]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        return manifest_schema()["$defs"][name], f"#/$defs/{name}"
    return schema, pointer


def _branch_with(
    schema: Mapping[str, Any], part: str | int
) -> tuple[Mapping[str, Any], str] | None:
    """Inside oneOf/anyOf, the branch that has property ``part``."""
    for keyword in ("oneOf", "anyOf"):
        for index, branch in enumerate(schema.get(keyword, [])):
            if isinstance(part, str) and part in branch.get("properties", {}):
                return branch["properties"][part], f"/{keyword}/{index}/properties/{part}"
    return None
