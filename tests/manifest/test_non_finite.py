"""Numbers no manifest can mean (.nan, .inf, -.inf, 1e400, integers of hundreds or
thousands of digits), put at every numeric position of the example: each command that loads
a manifest exits 2 naming the field at its line and column, never 4 (a crash) nor 0 (a NaN
gate never fails)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_ci.core.units import parse_duration, parse_size
from mlops_ci.manifest.positions import render_path
from tests.conftest import CliRunner, commit, git
from tests.manifest.strategies import EXAMPLE_DATA, EXAMPLE_PATHS

PLACEHOLDER = "\x00number\x00"
NOT_FINITE = (".nan", ".NaN", ".inf", "+.inf", "-.inf", "1e400", "-1e400")
HUGE = ("9" * 400, "-" + "9" * 400, "9" * 5000)  # past any float; past what int() parses


def _unit(value: object) -> bool:
    """A size or duration (``10MiB``, ``30d``): a number as far as the user is concerned."""
    if not isinstance(value, str):
        return False
    for parse in (parse_size, parse_duration):
        try:
            parse(value)  # type: ignore[operator]
        except ValueError:
            continue
        return True
    return False


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


NUMERIC_PATHS = [
    path
    for path in EXAMPLE_PATHS
    if (isinstance(value := _at(EXAMPLE_DATA, path), int | float) and not isinstance(value, bool))
    or _unit(value)
]


def manifest_with(folder: Path, path: tuple[Any, ...], number: str) -> tuple[Path, int]:
    """The example with the YAML scalar ``number`` (as written, unquoted) at ``path``, and
    the line it stands on."""
    data = json.loads(json.dumps(EXAMPLE_DATA))
    _at(data, path[:-1])[path[-1]] = PLACEHOLDER
    text = json.dumps(data, indent=2)
    line = 1 + text.split(json.dumps(PLACEHOLDER))[0].count("\n")
    manifest = folder / "mlops.yaml"
    manifest.write_text(text.replace(json.dumps(PLACEHOLDER), number))
    return manifest, line


def assert_refused_there(
    said: str, status: int, manifest: Path, path: tuple[Any, ...], line: int
) -> None:
    """Exit 2, and a problem naming the field at the line the number is on."""
    assert status == 2, said
    field = render_path(path)
    found = re.findall(rf"{re.escape(str(manifest))}:(\d+):\d+: {re.escape(field)} ", said)
    assert str(line) in found, said


def test_the_example_has_numeric_positions_to_try() -> None:
    # sizes, durations, bounds, counts: enough that a rename in the example is noticed
    assert len(NUMERIC_PATHS) >= 20
    assert ("retention", "candidates", "keep_last") in NUMERIC_PATHS
    assert ("validate", "size", "max") in NUMERIC_PATHS


@pytest.mark.parametrize(
    "number", [*NOT_FINITE, *HUGE], ids=[*NOT_FINITE, "400 nines", "-400 nines", "5000 nines"]
)
def test_validate_refuses_it_at_every_numeric_position(
    number: str, cli: CliRunner, tmp_path: Path
) -> None:
    for index, path in enumerate(NUMERIC_PATHS):
        folder = tmp_path / str(index)
        folder.mkdir()
        manifest, line = manifest_with(folder, path, number)
        run = cli("manifest", "validate", "-f", str(manifest))
        text = run.out + run.err
        assert "Traceback" not in text, (path, text)
        assert "internal error" not in text, (path, text)
        assert_refused_there(text, run.status, manifest, path, line)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(NUMERIC_PATHS),
    number=st.sampled_from([*NOT_FINITE, *HUGE]),
    command=st.sampled_from([("run",), ("version", "next"), ("manifest", "validate")]),
)
def test_every_command_that_loads_the_manifest_exits_2_with_the_position(
    path: tuple[Any, ...],
    number: str,
    command: tuple[str, ...],
    cli: CliRunner,
    tmp_path_factory: Any,
) -> None:
    folder: Path = tmp_path_factory.mktemp("repo")
    git(folder, "init", "-q", "-b", "main")
    manifest, line = manifest_with(folder, path, number)
    commit(folder, "the example, one number broken")
    run = cli(*command, "-f", str(manifest))
    text = run.out + run.err
    assert "Traceback" not in text, (command, path, text)
    assert "internal error" not in text, (command, path, text)
    assert_refused_there(text, run.status, manifest, path, line)
