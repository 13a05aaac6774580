"""What `mlops-ci manifest validate` imports: nothing heavy on the path every commit takes.

This is the structural side of the cold-start target; benchmarks/manifest_validate.py
measures the time itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import EXAMPLE, PROJECT

PROBE = """
import io, json, sys
from mlops_ci.cli.main import main
status = main(["manifest", "validate", "-f", sys.argv[1]], environ={}, stdout=io.StringIO())
print(json.dumps({"status": int(status), "modules": sorted(sys.modules)}))
"""
HEAVY = (
    "mlflow",
    "docker",
    "github",
    "polars",
    "pandas",
    "pyarrow",
    "numpy",
    "sklearn",
    "requests",
    "ruamel",
)


def imported_while_validating(manifest: str) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, manifest], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    return report["status"], {name.split(".")[0] for name in report["modules"]}


def test_a_valid_manifest_imports_nothing_heavy_not_even_jsonschema() -> None:
    status, modules = imported_while_validating(str(EXAMPLE / "mlops.yaml"))
    assert status == 0
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)
    assert "jsonschema" not in modules


def test_an_invalid_manifest_brings_in_jsonschema_to_explain_itself() -> None:
    status, modules = imported_while_validating(
        str(PROJECT / "tests" / "manifest" / "bad" / "scheme_typo.yaml")
    )
    assert status == 2
    assert "jsonschema" in modules
    assert modules.isdisjoint(HEAVY)


HELP_PROBE = """
import contextlib, io, json, sys
from mlops_ci.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        status = main(["--help"], environ={}, stdout=out)
    except SystemExit as done:
        status = done.code
print(json.dumps({"status": status, "help": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def test_help_imports_no_command_s_machinery() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "manifest" in report["help"]
    modules = set(report["modules"])
    machinery = {
        name
        for name in modules
        if name.startswith(("mlops_ci.manifest.", "mlops_ci.app.", "mlops_ci.report"))
        and name != "mlops_ci.app.layout"  # where a repository keeps its state: paths only
    }
    assert machinery == set(), sorted(machinery)
    assert "yaml" not in modules
    assert {name.split(".")[0] for name in modules}.isdisjoint(HEAVY)
