from __future__ import annotations

from datetime import date

import pytest
import semver
from hypothesis import given
from hypothesis import strategies as st

from mlops_ci.core.versions import (
    Version,
    VersionError,
    next_candidate,
    next_release,
    parse_version,
    production_version_problem,
)


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


# -- the Version type ---------------------------------------------------------------------

SEMVER_TEXT = st.builds(
    lambda m, n, p, rc: f"{m}.{n}.{p}" + (f"-rc.{rc}" if rc else ""),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.one_of(st.none(), st.integers(1, 30)),
)


@given(SEMVER_TEXT)
def test_semver_round_trips(text: str) -> None:
    assert str(parse_version(text, "semver")) == text


@given(SEMVER_TEXT, SEMVER_TEXT)
def test_semver_order_agrees_with_the_reference_implementation(a: str, b: str) -> None:
    ours = parse_version(a, "semver").sort_key > parse_version(b, "semver").sort_key
    theirs = semver.Version.parse(a).compare(b) > 0
    assert ours == theirs


@pytest.mark.parametrize(
    "text", ["2026.11.25", "2026.11.25.2", "2026.11.25-rc.3", "2026.11.25.2-rc.1"]
)
def test_calver_round_trips(text: str) -> None:
    assert str(parse_version(text, "calver")) == text


def test_ordering_puts_candidates_before_their_release() -> None:
    texts = ["1.2.0", "1.10.0-rc.1", "1.2.0-rc.2", "1.10.0", "1.2.0-rc.10", "0.9.9"]
    ordered = sorted(parse_version(t, "semver") for t in texts)
    assert [str(v) for v in ordered] == [
        "0.9.9",
        "1.2.0-rc.2",
        "1.2.0-rc.10",
        "1.2.0",
        "1.10.0-rc.1",
        "1.10.0",
    ]
    calver = sorted(
        parse_version(t, "calver")
        for t in ["2026.11.25.1", "2026.11.25", "2026.11.25-rc.1", "2025.12.31"]
    )
    assert [str(v) for v in calver] == [
        "2025.12.31",
        "2026.11.25-rc.1",
        "2026.11.25",
        "2026.11.25.1",
    ]


@pytest.mark.parametrize(
    ("production", "level", "expected"),
    [
        ("1.43.13", "patch", "1.43.14"),
        ("1.43.13", "minor", "1.44.0"),
        ("1.43.13", "major", "2.0.0"),
        ("0.0.0", "minor", "0.1.0"),
    ],
)
def test_next_semver_release(production: str, level: str, expected: str) -> None:
    released = next_release(
        parse_version(production, "semver"),
        level,  # type: ignore[arg-type]
        date(2026, 11, 25),
    )
    assert str(released) == expected


@pytest.mark.parametrize(
    ("production", "expected"),
    [
        ("2026.11.20", "2026.11.25"),
        ("2026.11.25", "2026.11.25.1"),
        ("2026.11.25.1", "2026.11.25.2"),
    ],
)
def test_next_calver_release_is_today(production: str, expected: str) -> None:
    released = next_release(parse_version(production, "calver"), "patch", date(2026, 11, 25))
    assert str(released) == expected


def test_calver_production_from_the_future_is_an_error() -> None:
    with pytest.raises(VersionError, match="dated after today"):
        next_release(parse_version("2027.01.01", "calver"), "patch", date(2026, 11, 25))


def test_next_candidate_counts_every_source() -> None:
    release = Version("semver", (1, 44, 0))
    seen = [
        parse_version(t, "semver") for t in ["1.44.0-rc.1", "1.44.0-rc.4", "1.43.0-rc.9", "1.44.0"]
    ]
    assert str(next_candidate(release, seen)) == "1.44.0-rc.5"
    assert str(next_candidate(release, [])) == "1.44.0-rc.1"


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("1.2.3-rc.0", "semver"),
        ("1.2.3-beta.1", "semver"),
        ("2026.02.30", "calver"),
        ("2026.11.25.0", "calver"),
        ("v1.2.3", "semver"),
    ],
)
def test_bad_versions(text: str, scheme: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text, scheme)  # type: ignore[arg-type]


def test_a_candidate_is_not_a_production_version() -> None:
    problem = production_version_problem("2026.11.25-rc.1", "calver")
    assert problem == (
        "'2026.11.25-rc.1' is a release candidate; model.version is the version in "
        "production, so write '2026.11.25'"
    )
