from __future__ import annotations

import pytest

from mlops_ci.core.lifecycle import (
    STATES,
    LifecycleError,
    advance,
    check_environment_order,
)


def test_the_happy_path() -> None:
    state = "candidate"
    for target in ("tested", "validated", "released"):
        state = advance("1.44.0-rc.1", state, target)  # type: ignore[arg-type]
    assert state == "released"


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        (
            "failed",
            "released",
            "1.44.0-rc.1 cannot become released: a failed candidate can never be promoted; build a "
            "new candidate",
        ),
        (
            "candidate",
            "released",
            "1.44.0-rc.1 cannot become released from candidate: it must be validated first",
        ),
        (
            "candidate",
            "validated",
            "1.44.0-rc.1 cannot become validated from candidate: it must be tested first",
        ),
        (
            "expired",
            "tested",
            "1.44.0-rc.1 cannot become tested: an expired candidate is gone for good; build a new "
            "candidate",
        ),
        ("released", "expired", "1.44.0-rc.1 cannot become expired: it is already released"),
        ("tested", "candidate", "1.44.0-rc.1 cannot become candidate from tested"),
    ],
)
def test_illegal_moves_are_refused_with_a_reason(current: str, target: str, message: str) -> None:
    with pytest.raises(LifecycleError) as raised:
        advance("1.44.0-rc.1", current, target)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_no_state_but_the_final_ones_is_a_dead_end() -> None:
    for state in STATES:
        movable = any(_allowed(state, target) for target in STATES)
        assert movable == (state not in ("released", "failed", "expired"))


def _allowed(current: str, target: str) -> bool:
    try:
        advance("v", current, target)  # type: ignore[arg-type]
    except LifecycleError:
        return False
    return True


def test_production_needs_staging_first() -> None:
    environments = ["staging", "production"]
    check_environment_order("1.44.0", environments, set(), "staging")
    check_environment_order("1.44.0", environments, {"staging"}, "production")
    with pytest.raises(LifecycleError, match="cannot go to production before staging"):
        check_environment_order("1.44.0", environments, set(), "production")
    with pytest.raises(LifecycleError, match="no environment is named 'qa'"):
        check_environment_order("1.44.0", environments, set(), "qa")
