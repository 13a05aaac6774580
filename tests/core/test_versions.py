from __future__ import annotations

import pytest

from mlops_ci.core.versions import production_version_problem


@pytest.mark.parametrize("version", ["0.0.0", "1.43.13", "10.0.1"])
def test_semver_production_versions(version: str) -> None:
    assert production_version_problem(version, "semver") is None


@pytest.mark.parametrize(
    ("version", "start"),
    [
        ("1.2", "'1.2' is not a semantic version"),
        ("01.2.3", "'01.2.3' is not a semantic"),
        ("v1.2.3", "'v1.2.3' is not a semantic"),
        ("1.2.3-rc.1", "'1.2.3-rc.1' has a pre-release"),
        ("1.2.3+build.5", "'1.2.3+build.5' has a pre-release or build part"),
    ],
)
def test_bad_semver_production_versions(version: str, start: str) -> None:
    problem = production_version_problem(version, "semver")
    assert problem is not None
    assert problem.startswith(start)


@pytest.mark.parametrize("version", ["2026.11.25", "2024.02.29", "2026.01.01.3"])
def test_calver_production_versions(version: str) -> None:
    assert production_version_problem(version, "calver") is None


@pytest.mark.parametrize(
    ("version", "start"),
    [
        ("2026.1.5", "'2026.1.5' is not a calendar version"),
        ("2025.02.29", "'2025.02.29' names a day that does not exist"),
        ("2026.11.25.01", "'2026.11.25.01' is not a calendar version"),
    ],
)
def test_bad_calver_production_versions(version: str, start: str) -> None:
    problem = production_version_problem(version, "calver")
    assert problem is not None
    assert problem.startswith(start)
