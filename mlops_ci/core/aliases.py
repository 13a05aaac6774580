"""The MLflow aliases the tool moves, read from git's records: which candidate each points
at, and the record that moved it there. MLflow's aliases mirror these (``sync`` moves
them), so a command can know them without asking MLflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlops_ci.core.records import PUBLISHED, StageRecord

# The aliases the stages move as they go: the newest candidate whose stage passed.
STAGE_ALIASES = (("candidate", "build"), ("validated", "validate"))


def tool_aliases(environments: Iterable[str]) -> tuple[str, ...]:
    """Every alias the tool moves, for a release to ``environments`` (none: production)."""
    return (*(alias for alias, _ in STAGE_ALIASES), "production", *environments)


@dataclass(frozen=True)
class AliasTarget:
    alias: str
    version: str  # the candidate it points at
    record: StageRecord  # the record that moved it (a stage's, or the publish's)


def stage_alias_targets(records: Iterable[StageRecord]) -> tuple[AliasTarget, ...]:
    """``candidate`` on the newest candidate whose build passed, ``validated`` on the
    newest that passed validate."""
    records = list(records)
    targets = []
    for alias, stage in STAGE_ALIASES:
        passed = [r for r in records if r.stage == stage and r.verdict == "passed"]
        latest = max(passed, key=lambda r: r.finished_at, default=None)
        if latest is not None:
            targets.append(AliasTarget(alias, latest.version, latest))
    return tuple(targets)


def release_alias_targets(records: Iterable[StageRecord]) -> tuple[AliasTarget, ...]:
    """Each environment's alias (``production`` for a release without environments) on the
    candidate its latest publish released."""
    latest: dict[str, StageRecord] = {}
    for record in sorted(records, key=lambda r: r.finished_at):
        if record.stage == PUBLISHED:
            latest[str(record.details.get("environment") or "production")] = record
    return tuple(
        AliasTarget(alias, candidate, record)
        for alias, record in sorted(latest.items())
        # Untrusted JSON: a publish record without its candidate moves nothing.
        if isinstance(candidate := record.details.get("candidate"), str)
    )
