"""The schema itself: valid 2020-12, documented everywhere, and agreeing with the example."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from mlops_ci.manifest.schema import schema_location
from mlops_ci.manifest.schema_file import SCHEMA_FILE, manifest_schema
from tests.conftest import EXAMPLE, PROJECT


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_packaged_schema_is_the_one_in_schemas_folder() -> None:
    assert SCHEMA_FILE.read_bytes() == (PROJECT / "schemas" / "manifest.schema.json").read_bytes()


def properties(schema: Mapping[str, Any], where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property schema, with its location, through $defs and combinators."""
    for name, child in schema.get("properties", {}).items():
        yield f"{where}/properties/{name}", child
        yield from properties(child, f"{where}/properties/{name}")
    for keyword in ("oneOf", "anyOf"):
        for index, branch in enumerate(schema.get(keyword, [])):
            yield from properties(branch, f"{where}/{keyword}/{index}")
    for keyword in ("items", "additionalProperties"):
        child = schema.get(keyword)
        if isinstance(child, Mapping):
            yield from properties(child, f"{where}/{keyword}")


def test_every_property_has_a_description_and_examples() -> None:
    """yaml-language-server shows these on hover and in completion."""
    schema = manifest_schema()
    found = list(properties(schema, "#"))
    for name, definition in schema["$defs"].items():
        found += list(properties(definition, f"#/$defs/{name}"))
    assert len(found) > 90
    for where, definition in found:
        target = definition
        if "$ref" in definition and "description" not in definition:
            target = schema["$defs"][definition["$ref"].removeprefix("#/$defs/")]
        assert target.get("description"), f"{where} has no description"
        if target.get("type") in ("object", "array", "string", "number", "integer") or (
            "enum" in target or "const" in target or "$ref" in definition
        ):
            assert target.get("examples") or definition.get("examples"), f"{where} has no examples"


def test_example_manifest_passes_a_third_party_validator() -> None:
    """check-jsonschema (another implementation) agrees that the example is valid."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(SCHEMA_FILE),
            str(EXAMPLE / "mlops.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_passes_check_jsonschema_metaschema_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--check-metaschema", str(SCHEMA_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_location_resolves_in_the_schema_document() -> None:
    schema = manifest_schema()
    for path in [
        ("model", "version"),
        ("data", 0, "checks", "range", "x"),
        ("release", "environments", 1, "targets", 0, "nomad"),
        ("monitor", "source", "file"),
    ]:
        pointer = schema_location(path)
        node: Any = schema
        for part in pointer.removeprefix("#/").split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert isinstance(node, dict), pointer


def test_manifest_schema_command_prints_the_schema(cli: Any) -> None:
    run = cli("manifest", "schema")
    assert run.status == 0
    assert json.loads(run.out) == manifest_schema()


def test_example_points_editors_at_the_schema() -> None:
    first_line = (EXAMPLE / "mlops.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../schemas/manifest.schema.json"
    assert (EXAMPLE / Path("../../schemas/manifest.schema.json")).resolve() == SCHEMA_FILE.resolve()
