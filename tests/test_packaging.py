"""The wheel users install holds everything the code reads at run time (editable installs
hide a missing data file: the tests read the source tree)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import PROJECT


def test_the_wheel_carries_the_schemas_types_and_compiled_kernels(tmp_path: Path) -> None:
    # A copy of the sources: a build/ folder, or the extension an editable install built in
    # place, left in the project would hide a gap.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    shutil.copytree(
        PROJECT / "mlops_ci",
        source / "mlops_ci",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("mlops_ci-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (PROJECT / "mlops_ci" / "schemas").glob("*.json"):
        assert f"mlops_ci/schemas/{schema.name}" in names
    assert "mlops_ci/py.typed" in names
    assert "mlops_ci/data/_kernels.pyi" in names
    # The C extension is optional for users without a compiler; this machine has one.
    assert any(n.startswith("mlops_ci/data/_kernels.") and n.endswith(".so") for n in names)
