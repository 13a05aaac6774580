"""A candidate's lifecycle: candidate → tested → validated → released; failed and expired
end it. Moves that the lifecycle does not allow are refused with a sentence saying why."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from mlops_ci.errors import ExitStatus, MlopsCiError

State = Literal["candidate", "tested", "validated", "released", "failed", "expired"]
STATES: tuple[State, ...] = ("candidate", "tested", "validated", "released", "failed", "expired")
# The stages that take a candidate from its data to validated, in order.
STAGES = ("ingest", "build", "test", "validate")
FINAL: frozenset[State] = frozenset({"released", "failed", "expired"})

_ALLOWED: dict[State, frozenset[State]] = {
    "candidate": frozenset({"tested", "failed", "expired"}),
    "tested": frozenset({"validated", "failed", "expired"}),
    "validated": frozenset({"released", "expired"}),
    "released": frozenset(),
    "failed": frozenset(),
    "expired": frozenset(),
}
_WHY: dict[State, str] = {
    "failed": "a failed candidate can never be promoted; build a new candidate",
    "expired": "an expired candidate is gone for good; build a new candidate",
    "released": "it is already released",
}


class LifecycleError(MlopsCiError):
    """A move the lifecycle does not allow."""

    exit_status = ExitStatus.BAD_INPUT


def advance(version: str, current: State, target: State) -> State:
    """``target`` when the lifecycle allows ``current`` → ``target``; raises otherwise."""
    if target in _ALLOWED[current]:
        return target
    if current in _WHY:
        raise LifecycleError(f"{version} cannot become {target}: {_WHY[current]}")
    needed = {"released": "validated", "validated": "tested", "tested": "candidate"}.get(target)
    raise LifecycleError(
        f"{version} cannot become {target} from {current}"
        + (f": it must be {needed} first" if needed else "")
    )


def check_environment_order(
    version: str, environments: Sequence[str], released_to: Collection[str], target: str
) -> None:
    """An environment gets a version only after every environment before it has it."""
    if target not in environments:
        raise LifecycleError(
            f"no environment is named {target!r}; the manifest names "
            f"{', '.join(environments) or 'none'}"
        )
    for earlier in environments[: environments.index(target)]:
        if earlier not in released_to:
            raise LifecycleError(
                f"{version} cannot go to {target} before {earlier}: release it to {earlier} first"
            )
