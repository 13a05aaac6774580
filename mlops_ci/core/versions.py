"""Version numbers under the two schemes a manifest can choose, and how the next one is made.

- semver: releases ``X.Y.Z``; candidates ``X.Y.Z-rc.N``.
- calver: releases ``YYYY.MM.DD`` (``YYYY.MM.DD.N`` for a further release that day);
  candidates ``YYYY.MM.DD-rc.N``.

A candidate sorts before its release, and candidates of one release sort by ``N``. Pure: the
day (for calver) and what history holds are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from mlops_ci.errors import ExitStatus, MlopsCiError

Scheme = Literal["semver", "calver"]
Level = Literal["major", "minor", "patch"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")

# semver.org's rules for the numbers (no leading zeros), without build metadata.
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-rc\.([1-9][0-9]*))?$")
_SEMVER_OTHER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)[-+].+$")
_CALVER = re.compile(
    r"^([0-9]{4})\.([0-9]{2})\.([0-9]{2})(?:\.([1-9][0-9]*))?(?:-rc\.([1-9][0-9]*))?$"
)


class VersionError(MlopsCiError, ValueError):
    """A version string that does not fit its scheme.

    ``wrong_shape`` tells a string of the wrong form (perhaps the other scheme's) from a
    well-formed one that still cannot be, such as a day that does not exist.
    """

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, wrong_shape: bool = True) -> None:
        super().__init__(message)
        self.wrong_shape = wrong_shape


@dataclass(frozen=True)
class Version:
    """A release (``rc`` is None) or a release candidate of ``release``."""

    scheme: Scheme
    release: tuple[int, ...]
    rc: int | None = None

    def __str__(self) -> str:
        if self.scheme == "semver":
            text = ".".join(map(str, self.release))
        else:
            year, month, day, *same_day = self.release
            text = f"{year:04d}.{month:02d}.{day:02d}" + "".join(f".{n}" for n in same_day)
        return text if self.rc is None else f"{text}-rc.{self.rc}"

    @property
    def is_candidate(self) -> bool:
        return self.rc is not None

    @property
    def final(self) -> Version:
        """The release this candidate becomes when it is promoted."""
        return replace(self, rc=None)

    def candidate(self, number: int) -> Version:
        return replace(self, rc=number)

    @property
    def sort_key(self) -> tuple[tuple[int, ...], int, int]:
        # A release sorts after all of its candidates.
        return (self.release, 1 if self.rc is None else 0, self.rc or 0)

    def __lt__(self, other: Version) -> bool:
        return self.sort_key < other.sort_key

    def __le__(self, other: Version) -> bool:
        return self.sort_key <= other.sort_key

    def __gt__(self, other: Version) -> bool:
        return self.sort_key > other.sort_key

    def __ge__(self, other: Version) -> bool:
        return self.sort_key >= other.sort_key


def parse_version(text: str, scheme: Scheme) -> Version:
    """The version ``text`` under ``scheme``; raises VersionError saying what would fit."""
    if scheme == "semver":
        match = _SEMVER.match(text)
        if match is None:
            raise VersionError(
                f"{text!r} is not a semantic version; write MAJOR.MINOR.PATCH such as 1.4.0 "
                "(no leading zeros, no v prefix)"
            )
        major, minor, patch, rc = match.groups()
        return Version("semver", (int(major), int(minor), int(patch)), _number(rc))
    match = _CALVER.match(text)
    if match is None:
        raise VersionError(
            f"{text!r} is not a calendar version; write YYYY.MM.DD such as 2026.11.25 "
            "(YYYY.MM.DD.N for a further release that day)"
        )
    year, month, day, same_day, rc = match.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        raise VersionError(
            f"{text!r} names a day that does not exist; write a real date as YYYY.MM.DD",
            wrong_shape=False,
        ) from None
    release = (int(year), int(month), int(day), *([int(same_day)] if same_day else []))
    return Version("calver", release, _number(rc))


def try_parse_version(text: str, scheme: Scheme) -> Version | None:
    try:
        return parse_version(text, scheme)
    except VersionError:
        return None


def production_version_problem(version: str, scheme: Scheme) -> str | None:
    """Why ``version`` cannot be a production version under ``scheme``, or None if it can."""
    if scheme == "semver" and _SEMVER_OTHER.match(version):
        return (
            f"{version!r} has a pre-release or build part; model.version is the version in "
            "production, so write the final X.Y.Z (e.g. 1.4.0)"
        )
    try:
        parsed = parse_version(version, scheme)
    except VersionError as error:
        other = "calver" if scheme == "semver" else "semver"
        return f"{error}, or set versioning.scheme: {other}" if error.wrong_shape else str(error)
    if parsed.is_candidate:
        return (
            f"{version!r} is a release candidate; model.version is the version in production, "
            f"so write {str(parsed.final)!r}"
        )
    return None


def next_release(production: Version, level: Level, today: date) -> Version:
    """The release that follows ``production``: bumped by ``level`` (semver) or dated
    ``today`` (calver, with ``.N`` when ``production`` is already from today)."""
    if production.scheme == "semver":
        major, minor, patch = production.release
        bumped = {
            "major": (major + 1, 0, 0),
            "minor": (major, minor + 1, 0),
            "patch": (major, minor, patch + 1),
        }[level]
        return Version("semver", bumped)
    day = (today.year, today.month, today.day)
    if production.release[:3] < day:
        return Version("calver", day)
    if production.release[:3] == day:
        same_day = production.release[3] if len(production.release) > 3 else 0
        return Version("calver", (*day, same_day + 1))
    raise VersionError(
        f"the version in production, {production}, is dated after today ({today.isoformat()}); "
        "check the machine's clock or model.version"
    )


def next_candidate(release: Version, seen: Iterable[Version]) -> Version:
    """``release``'s next candidate: one more than the highest candidate of it in ``seen``
    (git tags, registry tags and MLflow together, so two branches never mint the same)."""
    highest = max(
        (v.rc for v in seen if v.rc is not None and v.release == release.release), default=0
    )
    return release.candidate(highest + 1)


def _number(text: str | None) -> int | None:
    return int(text) if text is not None else None
