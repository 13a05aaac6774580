"""What a release uploads, built as the release workflow builds it: the sdist, the wheel
built from that sdist, both checked as PyPI checks them, and the wheel installed on its own
and run (editable installs hide a missing data file: the tests read the source tree)."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from mlops_ci import __version__
from tests.conftest import EXAMPLE, PROJECT


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` on a copy of the sources: a build/ folder, or the extension an
    editable install built in place, left in the project would hide a gap."""
    root = tmp_path_factory.mktemp("release")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(PROJECT / name, source / name)
    shutil.copytree(
        PROJECT / "mlops_ci",
        source / "mlops_ci",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),
    )
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.slow
def test_pypi_accepts_the_sdist_and_the_wheel(dist: Path) -> None:
    (sdist,) = dist.glob("mlops_ci-*.tar.gz")
    (wheel,) = dist.glob("mlops_ci-*.whl")
    assert sdist.name == f"mlops_ci-{__version__}.tar.gz"
    assert wheel.name.startswith(f"mlops_ci-{__version__}-")
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(info))
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Requires-Python" in metadata
    assert metadata["Requires-Python"] == ">=3.11"


@pytest.mark.slow
def test_the_sdist_holds_what_a_build_from_it_needs(dist: Path) -> None:
    (sdist,) = dist.glob("mlops_ci-*.tar.gz")
    top = f"mlops_ci-{__version__}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    for needed in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "PKG-INFO"):
        assert f"{top}/{needed}" in names, needed
    assert f"{top}/mlops_ci/data/_kernels.c" in names  # the wheel builders compile it
    for schema in (PROJECT / "mlops_ci" / "schemas").glob("*.json"):
        assert f"{top}/mlops_ci/schemas/{schema.name}" in names


@pytest.mark.slow
def test_the_wheel_carries_the_schemas_types_and_compiled_kernels(dist: Path) -> None:
    (wheel,) = dist.glob("mlops_ci-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (PROJECT / "mlops_ci" / "schemas").glob("*.json"):
        assert f"mlops_ci/schemas/{schema.name}" in names
    assert "mlops_ci/py.typed" in names
    assert "mlops_ci/data/_kernels.pyi" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # The C extension is optional for users without a compiler; this machine has one.
    assert any(n.startswith("mlops_ci/data/_kernels.") and n.endswith(".so") for n in names)


@pytest.mark.slow
def test_the_wheel_installed_alone_validates_the_example(dist: Path, tmp_path: Path) -> None:
    """The wheel in an environment of its own (its dependencies borrowed from this one, so
    no download), run from outside the source tree."""
    (wheel,) = dist.glob("mlops_ci-*.whl")
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    ours = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # After the wheel's own site-packages: the borrowed ones never shadow it.
    borrowed = [p for p in sys.path if p.endswith("site-packages")]
    Path(ours, "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    where = subprocess.run(
        [python, "-c", "import mlops_ci; print(mlops_ci.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(ours), where
    command = target / "bin" / "mlops-ci"
    shown = subprocess.run(
        [command, "--version"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert shown.stdout.strip() == f"mlops-ci {__version__}"
    checked = subprocess.run(
        [command, "manifest", "validate", str(EXAMPLE / "mlops.yaml")],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    schema = subprocess.run(
        [command, "manifest", "schema"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert '"$schema"' in schema.stdout


def test_the_wheel_builders_build_what_we_support() -> None:
    """The release workflow's cibuildwheel (pinned) with pyproject.toml's selection: the
    CPython versions the classifiers name, manylinux only, as it would build them."""
    workflow = (PROJECT / ".github" / "workflows" / "release.yml").read_text()
    pinned = workflow.split("cibuildwheel==", 1)[1].split()[0].strip("\"'")
    from importlib.metadata import version

    assert version("cibuildwheel") == pinned  # the test extra installs the same one
    listed = subprocess.run(
        [Path(sys.executable).with_name("cibuildwheel"), "--print-build-identifiers",
         "--platform", "linux", "--archs", "x86_64", str(PROJECT)],
        capture_output=True, text=True, check=True, cwd=PROJECT,
    ).stdout.split()  # fmt: skip
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    supported = sorted(
        c.rsplit(" ", 1)[1].replace(".", "")
        for c in project["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    )
    assert listed == [f"cp{v}-manylinux_x86_64" for v in supported]
