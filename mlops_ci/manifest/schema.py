"""Validate a manifest against schemas/manifest.schema.json and say what is wrong in plain words.

The schema is the one source of truth for what is valid; this module only turns
jsonschema's errors into sentences a person can act on, each at the line and column of
the offending key or value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.fastcheck import Check, compile_schema, is_finite_number
from mlops_ci.manifest.positions import JsonPath, quote, render_path
from mlops_ci.manifest.schema_file import manifest_schema
from mlops_ci.manifest.schema_messages import (
    branch_error,
    did_you_mean,
    expected_value,
    first_sentence,
    property_schema,
    schema_of,
    sentence,
    unexpected_keys,
)
from mlops_ci.manifest.source import SourceDocument

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


@cache
def _validator() -> Draft202012Validator:
    # Imported here: a valid manifest never needs jsonschema, and its import is a third of
    # the command's start-up.
    from jsonschema import Draft202012Validator, validators

    # The same numbers as the fast check: JSON has no NaN or infinity.
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "number", lambda _, value: is_finite_number(value)
    )
    finite = validators.extend(  # type: ignore[no-untyped-call]  # jsonschema's own
        Draft202012Validator, type_checker=checker
    )
    return cast("Draft202012Validator", finite(manifest_schema()))


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
        chosen = branch_error(error)
        if chosen is not None:
            inner = "/".join(str(part) for part in chosen.relative_schema_path)
            yield from _translate(chosen, document, f"{schema_path}/{inner}")
            return
    if "propertyNames" in error.absolute_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        schema_path = f"{schema_location(path)}/propertyNames/{keyword}"
        key_path = (*path, str(error.instance))
        told = schema_of(error).get("patternErrorMessage")
        why = f"but {told}" if keyword == "pattern" and told else f"which {sentence(error)}"
        yield document.issue(
            key_path,
            f"{_where(path)} has the key {quote(error.instance)}, {why}",
            key=True,
            schema_path=schema_path,
        )
        return
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in expected_value(error):
            if name not in present:
                hint = first_sentence(property_schema(schema_of(error), name).get("description"))
                yield document.issue(
                    path,
                    f"{_where(path)} is missing the required key {quote(name)}"
                    + (f": {hint}" if hint else ""),
                    schema_path=schema_path,
                )
        return
    if keyword == "additionalProperties" and expected_value(error) is False:
        known = list(schema_of(error).get("properties", {}))
        for key in unexpected_keys(error):
            yield document.issue(
                (*path, key),
                f"unknown key {quote(key)} in {_where(path)}"
                + did_you_mean(key, known)
                + f"; allowed keys: {', '.join(known)}",
                key=True,
                schema_path=schema_path,
            )
        return
    yield document.issue(path, f"{render_path(path)} {sentence(error)}", schema_path=schema_path)


def _where(path: JsonPath) -> str:
    return render_path(path) if path else "the manifest"


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
