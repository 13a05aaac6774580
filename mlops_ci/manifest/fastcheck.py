"""A compiled yes/no check of a JSON Schema, for the common case: a valid manifest.

jsonschema stays the authority: it explains every error, and only runs when this check says
no. Compiling the schema into plain closures once per process makes the yes about ten times
cheaper than a jsonschema pass, which is what lets one process check a thousand manifests of
a monorepo in well under two seconds (benchmarks/manifest_validate.py).

Only the keywords the manifest schema uses are compiled; any other validation keyword is
refused when compiling, so the schema cannot outgrow this check unnoticed. A property test
checks that this check and jsonschema agree on generated and mutated manifests.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate: they never make a value invalid.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "patternErrorMessage",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


def is_finite_number(value: Any) -> bool:
    """A JSON number: YAML's .nan, .inf and -.inf are none (JSON has no such numbers)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": is_finite_number,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


class UnsupportedKeyword(ValueError):
    """The schema uses a keyword this check does not implement."""


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that tells whether a value is valid against ``schema``."""
    return _Compiler(schema).compile(schema)


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON Schema means it: true is not 1, but 1 is 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return False
    return bool(left == right)


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Mapping[str, Any] | bool) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        checks: list[Check] = []
        for keyword, argument in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            build = getattr(self, "_" + keyword.lstrip("$"), None)
            if build is None:
                raise UnsupportedKeyword(f"the fast check does not implement {keyword!r}")
            made = build(argument, schema)
            if made is not None:
                checks.append(made)
        if len(checks) == 1:
            return checks[0]

        # Plain loops, not all(generator): this runs for every value of every manifest.
        def every(value: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a loop is faster than all() here
                if not check(value):
                    return False
            return True

        return every

    # -- references ---------------------------------------------------------------------

    def _ref(self, pointer: str, _: Mapping[str, Any]) -> Check:
        if not pointer.startswith("#/"):
            raise UnsupportedKeyword(f"only local references are supported, not {pointer!r}")
        if pointer not in self.refs:
            target: Any = self.root
            for part in pointer[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self.refs[pointer] = lambda value: True  # a placeholder while it compiles
            self.refs[pointer] = self.compile(target)
        refs = self.refs
        # Looked up at call time: a schema that refers to itself gets its placeholder first.
        return lambda value: refs[pointer](value)  # noqa: PLW0108

    # -- any type -----------------------------------------------------------------------

    def _type(self, expected: str | Sequence[str], _: Mapping[str, Any]) -> Check:
        tests = [_TYPES[name] for name in ([expected] if isinstance(expected, str) else expected)]
        if len(tests) == 1:
            return tests[0]
        return lambda value: any(test(value) for test in tests)

    def _enum(self, choices: Sequence[Any], _: Mapping[str, Any]) -> Check:
        return lambda value: any(json_equal(value, choice) for choice in choices)

    def _const(self, constant: Any, _: Mapping[str, Any]) -> Check:
        return lambda value: json_equal(value, constant)

    def _oneOf(self, branches: Sequence[Any], _: Mapping[str, Any]) -> Check:
        checks = [self.compile(branch) for branch in branches]
        return lambda value: sum(1 for check in checks if check(value)) == 1

    def _anyOf(self, branches: Sequence[Any], _: Mapping[str, Any]) -> Check:
        checks = [self.compile(branch) for branch in branches]
        return lambda value: any(check(value) for check in checks)

    # -- strings --------------------------------------------------------------------------

    def _pattern(self, pattern: str, _: Mapping[str, Any]) -> Check:
        search = re.compile(pattern).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def _minLength(self, least: int, _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= least

    def _maxLength(self, most: int, _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= most

    # -- numbers --------------------------------------------------------------------------

    @staticmethod
    def _number(test: Callable[[float], bool]) -> Check:
        return lambda value: (
            isinstance(value, bool) or not isinstance(value, int | float) or test(value)
        )

    def _minimum(self, bound: float, _: Mapping[str, Any]) -> Check:
        return self._number(lambda value: value >= bound)

    def _maximum(self, bound: float, _: Mapping[str, Any]) -> Check:
        return self._number(lambda value: value <= bound)

    def _exclusiveMinimum(self, bound: float, _: Mapping[str, Any]) -> Check:
        return self._number(lambda value: value > bound)

    def _exclusiveMaximum(self, bound: float, _: Mapping[str, Any]) -> Check:
        return self._number(lambda value: value < bound)

    # -- arrays ---------------------------------------------------------------------------

    def _items(self, schema: Any, _: Mapping[str, Any]) -> Check:
        check = self.compile(schema)

        def every_item(value: Any) -> bool:
            if isinstance(value, list):
                for item in value:
                    if not check(item):
                        return False
            return True

        return every_item

    def _minItems(self, least: int, _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= least

    def _maxItems(self, most: int, _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= most

    def _uniqueItems(self, unique: bool, _: Mapping[str, Any]) -> Check | None:
        if not unique:
            return None

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            return not any(
                json_equal(value[i], value[j])
                for i in range(len(value))
                for j in range(i + 1, len(value))
            )

        return check

    # -- objects --------------------------------------------------------------------------

    def _required(self, names: Sequence[str], _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)

    def _minProperties(self, least: int, _: Mapping[str, Any]) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= least

    def _propertyNames(self, schema: Any, _: Mapping[str, Any]) -> Check:
        check = self.compile(schema)
        return lambda value: not isinstance(value, dict) or all(map(check, value))

    def _properties(self, schemas: Mapping[str, Any], _: Mapping[str, Any]) -> Check:
        checks = {name: self.compile(schema) for name, schema in schemas.items()}

        def check(value: Any) -> bool:
            if isinstance(value, dict):
                for name, item in value.items():
                    found = checks.get(name)
                    if found is not None and not found(item):
                        return False
            return True

        return check

    def _patternProperties(self, schemas: Mapping[str, Any], _: Mapping[str, Any]) -> Check:
        checks = [(re.compile(p).search, self.compile(s)) for p, s in schemas.items()]
        return lambda value: (
            not isinstance(value, dict)
            or all(
                check(item)
                for key, item in value.items()
                for search, check in checks
                if search(key)
            )
        )

    def _additionalProperties(self, schema: Any, parent: Mapping[str, Any]) -> Check:
        known = frozenset(parent.get("properties", {}))
        patterns = [re.compile(p).search for p in parent.get("patternProperties", {})]
        check = self.compile(schema)
        return lambda value: (
            not isinstance(value, dict)
            or all(
                check(item)
                for key, item in value.items()
                if key not in known and not any(search(key) for search in patterns)
            )
        )
