"""The layers of DESIGN.md's architecture are held by import-linter's contracts in
pyproject.toml (scripts/test runs them): here, that they hold, and that a wrong import breaks
them, so the check can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        PROJECT / "mlops_ci", tmp_path / "mlops_ci", ignore=shutil.ignore_patterns("*.so")
    )
    shutil.copy(PROJECT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_package_keeps_its_contracts(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # core is pure: it imports no other layer.
        ("core/units.py", "from mlops_ci.manifest.model import Manifest", "mlops_ci.core is not"),
        # A use case gets its adapters as ports, never by name.
        ("app/build.py", "from mlops_ci.adapters.git import Git", "mlops_ci.app is not"),
        # The command line reaches adapters only through wiring.
        ("cli/deploy.py", "from mlops_ci.adapters import gha", "mlops_ci.cli is not"),
        # Adapters never call back into the use cases.
        ("adapters/git.py", "from mlops_ci.app import context", "mlops_ci.adapters is not"),
        # The renderers work on result values, not on use cases.
        ("report/stages.py", "from mlops_ci.app import lifecycle", "mlops_ci.report is not"),
    ],
)
def test_a_wrong_import_breaks_a_contract(copy: Path, module: str, line: str, broken: str) -> None:
    with (copy / "mlops_ci" / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{line}  # noqa: E402\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
