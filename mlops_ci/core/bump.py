"""Which part of the version a new candidate bumps, and why (``versioning.bump: auto``).

In order: a breaking change of the model's signature (a removed or retyped field) is major
and an added field minor; then the Conventional Commits that touched the model's folder since
its last release (``!`` or ``BREAKING CHANGE`` major, ``feat`` minor, ``fix``/``perf``
patch); the highest level found wins, and with nothing found it is a patch. An explicit
``bump: major|minor|patch`` wins over all of it. Every decision carries its reasons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.core.settings import BumpLevel
from mlops_ci.core.signature import Field, Signature
from mlops_ci.core.versions import LEVELS, Level

_HEADER = re.compile(r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: \S")
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: ", re.MULTILINE)
_COMMIT_LEVELS: dict[str, Level] = {"feat": "minor", "fix": "patch", "perf": "patch"}


@dataclass(frozen=True)
class Commit:
    """A commit as history gives it: its id and whole message."""

    sha: str
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class SignatureChange:
    removed: tuple[str, ...] = ()
    retyped: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    @property
    def level(self) -> Level | None:
        if self.removed or self.retyped:
            return "major"
        return "minor" if self.added else None


@dataclass(frozen=True)
class BumpDecision:
    level: Level
    reasons: tuple[str, ...]


def diff_signature(production: Signature | None, candidate: Signature | None) -> SignatureChange:
    """What changed in the model's interface between production and the candidate."""
    before = _fields(production)
    after = _fields(candidate)
    return SignatureChange(
        removed=tuple(name for name in before if name not in after),
        retyped=tuple(
            name for name in before if name in after and _shape(before[name]) != _shape(after[name])
        ),
        added=tuple(name for name in after if name not in before),
    )


def commit_level(commit: Commit) -> Level | None:
    """The level a Conventional Commit asks for, or None (docs, chore, non-conventional)."""
    match = _HEADER.match(commit.subject)
    if match is None:
        return None
    if match["bang"] or _BREAKING_FOOTER.search(commit.message):
        return "major"
    return _COMMIT_LEVELS.get(match["type"].lower())


def decide_bump(
    configured: BumpLevel, change: SignatureChange, commits: Sequence[Commit]
) -> BumpDecision:
    if configured != "auto":
        return BumpDecision(configured, (f"versioning.bump is {configured}",))
    found: list[tuple[Level, str]] = []
    if change.level is not None:
        found.append((change.level, _describe(change)))
    for commit in commits:
        asked = commit_level(commit)
        if asked is not None:
            found.append((asked, f"{asked}: commit {commit.sha[:7]} {commit.subject!r}"))
    if not found:
        return BumpDecision(
            "patch",
            (
                "patch: no signature change and no feat, fix or breaking "
                "commit since the last release",
            ),
        )
    highest = max((level for level, _ in found), key=LEVELS.index)
    return BumpDecision(highest, tuple(reason for level, reason in found if level == highest))


def _describe(change: SignatureChange) -> str:
    parts = [
        f"{what} {', '.join(names)}"
        for what, names in (
            ("removed", change.removed),
            ("retyped", change.retyped),
            ("added", change.added),
        )
        if names
    ]
    return f"{change.level}: the signature {'; '.join(parts)}"


def _fields(signature: Signature | None) -> dict[str, Field]:
    if signature is None:
        return {}
    fields = {f"input {f.name}": f for f in signature.inputs}
    fields.update({f"output {f.name}": f for f in signature.outputs})
    return fields


def _shape(field: Field) -> tuple[str, tuple[int, ...] | None]:
    return (field.type, field.shape)
