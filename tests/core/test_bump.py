from __future__ import annotations

import pytest

from mlops_ci.core.bump import Commit, SignatureChange, commit_level, decide_bump, diff_signature
from mlops_ci.core.signature import Field, Signature

PRODUCTION = Signature(
    inputs=(Field("tenure", "float"), Field("plan", "string")),
    outputs=(Field("probability", "float"),),
)


def test_signature_diff() -> None:
    candidate = Signature(
        inputs=(Field("tenure", "int"), Field("region", "string")),
        outputs=(Field("probability", "float"), Field("label", "int")),
    )
    change = diff_signature(PRODUCTION, candidate)
    assert change == SignatureChange(
        removed=("input plan",),
        retyped=("input tenure",),
        added=("input region", "output label"),
    )
    assert change.level == "major"
    assert diff_signature(PRODUCTION, PRODUCTION).level is None
    assert diff_signature(None, PRODUCTION).level == "minor"


def test_a_changed_tensor_shape_is_a_retype() -> None:
    before = Signature(inputs=(Field("image", "tensor", (-1, 28, 28)),))
    after = Signature(inputs=(Field("image", "tensor", (-1, 32, 32)),))
    assert diff_signature(before, after).retyped == ("input image",)


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("feat: add region feature", "minor"),
        ("feat(churn): add region feature", "minor"),
        ("fix: clip tenure", "patch"),
        ("perf: vectorise scoring", "patch"),
        ("feat!: drop plan input", "major"),
        ("refactor(model)!: new interface", "major"),
        ("fix: rename output\n\nBREAKING CHANGE: output renamed", "major"),
        ("fix: rename output\n\nBREAKING-CHANGE: output renamed", "major"),
        ("docs: explain gates", None),
        ("chore: bump deps", None),
        ("Add a feature", None),
        ("feat:missing space", None),
        ("FEAT: shouting", "minor"),
    ],
)
def test_conventional_commit_levels(message: str, level: str | None) -> None:
    assert commit_level(Commit("a" * 40, message)) == level


def test_auto_takes_the_highest_level_with_its_reasons() -> None:
    commits = [
        Commit("1111111aaaa", "fix: one"),
        Commit("2222222bbbb", "feat: two"),
        Commit("3333333cccc", "feat: three"),
    ]
    decision = decide_bump("auto", SignatureChange(), commits)
    assert decision.level == "minor"
    assert decision.reasons == (
        "minor: commit 2222222 'feat: two'",
        "minor: commit 3333333 'feat: three'",
    )
    decision = decide_bump("auto", SignatureChange(removed=("input plan",)), commits)
    assert decision.level == "major"
    assert decision.reasons == ("major: the signature removed input plan",)


def test_auto_without_anything_is_a_patch() -> None:
    decision = decide_bump("auto", SignatureChange(), [Commit("abc1234", "docs: typo")])
    assert decision.level == "patch"
    assert "no signature change" in decision.reasons[0]


def test_explicit_level_wins() -> None:
    decision = decide_bump("patch", SignatureChange(removed=("input x",)), [])
    assert decision.level == "patch"
    assert decision.reasons == ("versioning.bump is patch",)
