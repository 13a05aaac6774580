"""GitHub's OpenAPI description (the vendored subset, scripts/vendor-github-openapi) as a
checker of the requests the fake receives and of its answers, and as a maker of the
smallest valid objects the fake fills in with its state."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC = Path(__file__).with_name("openapi.json")


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text())
    return loaded


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The template (``/repos/{owner}/{repo}/pulls/{pull_number}``) and operation that a
    concrete path matches."""
    for template, methods in spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in methods:
            return template, methods[method.lower()]
    raise KeyError(f"{method} {path} is not in the vendored OpenAPI subset")


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    _, found = operation(method, path)
    response = found["responses"].get(str(status))
    if response is None:
        raise KeyError(f"{method} {path} never answers {status} in GitHub's description")
    schema: dict[str, Any] | None = response.get("schema")
    return schema


def problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Where ``body`` breaks GitHub's description of that answer (empty: it does not)."""
    try:
        schema = response_schema(method, path, status)
    except KeyError as error:
        return [str(error.args[0])]
    if schema is None:
        return []
    validator = jsonschema.Draft7Validator(_json_schema(schema))
    return [
        f"{method} {path} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(body)
    ]


_NO_BODY = object()


def request_problems(
    method: str, path: str, query: dict[str, list[str]], body: Any = _NO_BODY
) -> list[str]:
    """Where a request breaks GitHub's description of it: an operation GitHub does not
    have, a path or query parameter it does not take or of the wrong type, a body where
    none is taken, or one its ``requestBody`` schema refuses (empty: it does not)."""
    try:
        template, found = operation(method, path)
    except KeyError as error:
        return [str(error.args[0])]
    where = f"{method} {template}"
    parameters = {(p["in"], p["name"]): p for p in found.get("parameters", [])}
    problems: list[str] = []
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
    matched = re.match(pattern, path)
    values = dict(zip(names, matched.groups(), strict=True)) if matched else {}
    for name, value in values.items():
        problems += _parameter_problems(where, parameters.get(("path", name)), name, [value])
    for name, given in query.items():
        problems += _parameter_problems(where, parameters.get(("query", name)), name, given)
    for (place, name), parameter in parameters.items():
        if place == "query" and parameter.get("required") and name not in query:
            problems.append(f"{where}: the query parameter {name} is required")
    schema = found.get("requestBody")
    if body is _NO_BODY:
        return problems
    if schema is None:
        return [*problems, f"{where}: takes no body, was sent {str(body)[:80]}"]
    validator = jsonschema.Draft7Validator(_json_schema(schema))
    return problems + [
        f"{where} body: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
        for e in validator.iter_errors(body)
    ]


def _parameter_problems(
    where: str, parameter: dict[str, Any] | None, name: str, given: list[str]
) -> list[str]:
    if parameter is None:
        return [f"{where}: takes no parameter {name}"]
    schema = _json_schema(parameter.get("schema", {}))
    if len(given) > 1 and schema.get("type") != "array":
        return [f"{where}: the parameter {name} is given {len(given)} times"]
    problems = []
    for text in given:
        value = _typed(text, schema.get("type"))
        for error in jsonschema.Draft7Validator(schema).iter_errors(value):
            problems.append(f"{where}: the parameter {name}={text!r}: {error.message[:200]}")
    return problems


def _typed(text: str, kind: Any) -> Any:
    """A parameter's text as the type its schema names (text it cannot be stays text)."""
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


def minimal(schema: dict[str, Any], uri: str = "https://github.example/x") -> Any:
    """The smallest value that the (OpenAPI 3.0) ``schema`` accepts: required properties
    only, first enum values, placeholders by format (``uri`` for links, which clients
    follow: the fake gives its own address)."""
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = minimal(part, uri)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return minimal(schema[key][0], uri)
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: minimal(properties.get(name, {}), uri) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "string":
        return {
            "date-time": "2026-11-25T00:00:00Z",
            "uri": uri,
            "email": "someone@example.com",
        }.get(schema.get("format", ""), "x")
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    return None


def filled(
    method: str, path: str, status: int, values: Any, uri: str = "https://github.example/x"
) -> Any:
    """The smallest valid answer, with ``values`` laid over it, each nested object made
    whole from its own schema first."""
    return build(response_schema(method, path, status) or {}, values, uri)


def filled_item(
    method: str, path: str, status: int, values: Any, uri: str = "https://github.example/x"
) -> Any:
    """One item of a list answer, as ``filled`` makes a whole answer."""
    schema = response_schema(method, path, status) or {}
    return build(schema.get("items", {}), values, uri)


def build(schema: dict[str, Any], values: Any, uri: str) -> Any:
    if isinstance(values, dict):
        shape = _concrete(schema)
        made = minimal({**shape, "nullable": False}, uri)
        made = made if isinstance(made, dict) else {}
        properties = shape.get("properties", {})
        for key, value in values.items():
            made[key] = build(properties.get(key, {}), value, uri)
        return made
    if isinstance(values, list):
        items = _concrete(schema).get("items", {})
        return [build(items, value, uri) for value in values]
    return copy.deepcopy(values)


def _concrete(schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema as one: allOf merged, the first non-null anyOf/oneOf taken."""
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            concrete = _concrete(part)
            merged["properties"].update(concrete.get("properties", {}))
            merged["required"] += concrete.get("required", [])
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _concrete(options[0]) if options else {}
    return schema


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema (``type: [x, "null"]``)."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            return {"anyOf": [converted, {"type": "null"}]}
    return converted
