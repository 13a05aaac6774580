"""Property-based tests: manifests generated from the schema, and manifests broken at random.

- The YAML reader returns exactly the data of any document the schema allows.
- A schema-valid manifest whose cross-references are made consistent always loads.
- A randomly mutated manifest never raises anything but the project's own error, and the
  CLI answers 0 or 2 with positions inside the file, never a traceback.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from mlops_ci.errors import ManifestError
from mlops_ci.manifest.loader import load_manifest
from mlops_ci.manifest.schema_file import manifest_schema
from mlops_ci.manifest.source import parse_source
from tests.conftest import CliRunner
from tests.manifest.strategies import EXAMPLE_DATA, EXAMPLE_PATHS, EXAMPLE_TEXT, JSON_VALUES

# Characters a YAML file cannot hold raw, or that YAML 1.1 folds as line breaks inside
# quoted strings (NEL, LS, PS); JSON's \u escapes carry them exactly.
_ESCAPE_IN_YAML = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
MANIFESTS = from_schema(copy.deepcopy(manifest_schema()))
SLOW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def as_yaml(value: Any) -> bytes:
    """JSON is YAML 1.2: dumping as JSON keeps every string a string and every number a number."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _ESCAPE_IN_YAML.sub(lambda found: f"\\u{ord(found.group()):04x}", text).encode()


@SLOW
@given(instance=MANIFESTS)
def test_reader_returns_exactly_what_the_schema_allowed(instance: dict[str, Any]) -> None:
    assert parse_source(as_yaml(instance), "mlops.yaml").data == instance


def make_consistent(instance: dict[str, Any]) -> dict[str, Any]:
    """Mend what only the semantic checks forbid, keeping everything else as generated."""
    data = json.loads(json.dumps(instance))
    scheme = data.get("versioning", {}).get("scheme", "semver")
    data["model"]["version"] = "1.2.3" if scheme == "semver" else "2026.01.31"
    if "versioning" in data and "tag" in data["versioning"]:
        data["versioning"]["tag"] = "{name}@{version}"
    for names in ("inputs", "outputs"):
        for index, field in enumerate(data["model"].get("signature", {}).get(names, [])):
            field["name"] = f"{names}{index}"
    for index, data_set in enumerate(data.get("data", [])):
        data_set["name"] = f"d{index}"
        data_set["path"] = f"data/d{index}.csv"
        for key in ("table", "format"):
            data_set.pop(key, None)
        if "database" in data_set:
            data_set["database"] = f"data/d{index}.duckdb"  # a path as the others are
            data_set.pop("spark", None)
            data_set["engine"] = "duckdb"
        elif "spark" in data_set:
            data_set["engine"] = "spark"
        checks = data_set.get("checks", {})
        checks.pop("columns", None)
        if "labels" in checks:
            data_set["label"] = "y"
        fix_bounds(checks.get("range", {}))
    for section, key in (("build", "command"), ("test", "command")):
        if key in data.get(section, {}):
            data[section][key] = "python run.py {artifacts}"
    if "latency" in data.get("validate", {}):
        data["validate"]["latency"]["command"] = ["python", "bench.py"]
    if "build" in data:
        data["build"]["artifacts"] = "build/model"
        data["build"].pop("metrics", None)
    test = data.get("test", {})
    test.pop("metrics", None)
    test.pop("against_production", None)
    fix_bounds(test.get("gates", {}))
    for section, key in (("build", "timeout"), ("test", "timeout")):
        if key in data.get(section, {}):
            data[section][key] = "1h"
    data.get("validate", {}).get("latency", {}).pop("timeout", None)
    data.get("retention", {}).get("candidates", {}).pop("max_age", None)
    for limit in ("size", "memory"):
        if limit in data.get("validate", {}):
            data["validate"][limit]["max"] = "100MiB"
    data.get("release", {}).get("image", {}).pop("layer_size", None)
    for index, environment in enumerate(data.get("release", {}).get("environments", [])):
        environment["name"] = f"e{index}"
        environment["targets"] = [{"kubernetes": f"deploy/e{index}.yaml"}]
    monitor = data.get("monitor", {})
    if "file" in monitor.get("source", {}):
        monitor["source"]["file"] = "metrics.json"
    fix_bounds(monitor.get("slo", {}))
    return data


def fix_bounds(bounds_map: dict[str, dict[str, float]]) -> None:
    for bounds in bounds_map.values():
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            bounds["min"], bounds["max"] = bounds["max"], bounds["min"]


@SLOW
@given(instance=MANIFESTS)
def test_every_consistent_schema_valid_manifest_loads(
    instance: dict[str, Any], tmp_path_factory: Any
) -> None:
    path = tmp_path_factory.mktemp("generated") / "mlops.yaml"
    path.write_bytes(as_yaml(make_consistent(instance)))
    manifest = load_manifest(path)
    assert manifest.model.name == instance["model"]["name"]


YAML_BITS = st.sampled_from(
    [
        ":",
        ": ",
        "-",
        "- ",
        "\n",
        "  ",
        "\t",
        "{",
        "}",
        "[",
        "]",
        "&a ",
        "*a",
        "<<: ",
        "!!str ",
        "'",
        '"',
        "#",
        "---\n",
        "? ",
        "|",
        ">",
        "%",
        "@",
        "`",
        "\x00",
        "\xff",
        "~",
        "null",
        "1e9",
        # numbers no manifest can mean (tests/manifest/test_non_finite.py puts them everywhere)
        ".nan",
        ".inf",
        "-.inf",
        "1e400",
        "9" * 400,
        "0x",
        "..",
        "/",
        "{version}",
        "{nope}",
        "\u2028",
        "🤖",
    ]
)


@st.composite
def mutated_manifests(draw: st.DrawFn) -> bytes:
    text = EXAMPLE_TEXT.encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate_line"]))
        if action == "insert":
            bit = draw(st.one_of(YAML_BITS, st.text(max_size=8))).encode("utf-8", "replace")
            text = text[:start] + bit + text[start:]
        elif action == "delete":
            text = text[:start] + text[start + draw(st.integers(1, 40)) :]
        elif action == "replace":
            text = text[:start] + bytes([draw(st.integers(0, 255))]) + text[start + 1 :]
        else:
            lines = text.split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            text = b"\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_manifests())
def test_mutated_manifests_fail_only_with_our_error(text: bytes, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("mutated") / "mlops.yaml"
    path.write_bytes(text)
    try:
        load_manifest(path)
    except ManifestError as error:
        lines = text.count(b"\n") + 1
        for issue in error.issues:
            assert 1 <= issue.line <= lines
            assert issue.column >= 1
            assert issue.message


@settings(
    max_examples=300,
    deadline=None,
    # cli is a plain function with no state, so sharing it between examples is safe.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(EXAMPLE_PATHS), value=JSON_VALUES)
def test_a_value_replaced_at_random_gives_exit_0_or_2_never_a_traceback(
    path: tuple[Any, ...], value: Any, cli: CliRunner, tmp_path_factory: Any
) -> None:
    data = json.loads(json.dumps(EXAMPLE_DATA))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    folder: Path = tmp_path_factory.mktemp("replaced")
    manifest = folder / "mlops.yaml"
    manifest.write_text(json.dumps(data, indent=2))
    run = cli("manifest", "validate", "-f", str(manifest))
    assert run.status in (0, 2), run.err
    assert "Traceback" not in run.out + run.err
    if run.status == 2:
        assert re.search(rf"^{re.escape(str(manifest))}:\d+:\d+: ", run.out, re.MULTILINE)
