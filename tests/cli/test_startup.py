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
