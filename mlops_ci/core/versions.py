"""Version numbers under the two schemes a manifest can choose (semver and calver).

This module only answers whether a production version is well formed; the versions issue
builds bumps, candidates and ordering on top of it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Scheme = Literal["semver", "calver"]

# semver.org's recommended pattern, without pre-release or build parts: a production
# version is final, and a candidate's -rc.N never stands in the manifest.
_SEMVER_FINAL = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_SEMVER_ANY = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)[-+].+$")
_CALVER = re.compile(r"^([0-9]{4})\.([0-9]{2})\.([0-9]{2})(?:\.(0|[1-9][0-9]*))?$")


def production_version_problem(version: str, scheme: Scheme) -> str | None:
    """Why ``version`` cannot be a production version under ``scheme``, or None if it can."""
    if scheme == "semver":
        if _SEMVER_FINAL.match(version):
            return None
        if _SEMVER_ANY.match(version):
            return (
                f"{version!r} has a pre-release or build part; model.version is the "
                "version in production, so write the final X.Y.Z (e.g. 1.4.0)"
            )
        return (
            f"{version!r} is not a semantic version; write MAJOR.MINOR.PATCH such as "
            "1.4.0 (no leading zeros, no v prefix), or set versioning.scheme: calver"
        )
    match = _CALVER.match(version)
    if match is None:
        return (
            f"{version!r} is not a calendar version; write YYYY.MM.DD such as 2026.11.25 "
            "(YYYY.MM.DD.N for a second release that day), or set versioning.scheme: semver"
        )
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return f"{version!r} names a day that does not exist; write a real date as YYYY.MM.DD"
    return None
