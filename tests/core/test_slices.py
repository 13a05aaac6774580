"""Gates per slice and the gap between slices, purely."""

from __future__ import annotations

from mlops_ci.core.settings import Bounds
from mlops_ci.core.slices import SliceRule, slice_gates, slice_metrics

METRICS = {
    "accuracy": 0.9,
    "slices": {
        "sex": {
            "female": {"recall": 0.71, "r2": 0.8},
            "male": {"recall": 0.90, "r2": 0.82},
        },
        "region": {"north": {"recall": 0.85}, "south": {"recall": 0.86}},
        "broken": ["not", "groups"],
        "odd": {"g": {"recall": True, "text": "x", "nan": float("nan")}},
    },
}


def test_only_finite_numbers_of_well_formed_slices_are_read() -> None:
    assert slice_metrics(METRICS) == {
        "sex": {"female": {"recall": 0.71, "r2": 0.8}, "male": {"recall": 0.90, "r2": 0.82}},
        "region": {"north": {"recall": 0.85}, "south": {"recall": 0.86}},
    }
    assert slice_metrics([1, 2]) == {}
    assert slice_metrics({"slices": "none"}) == {}


def test_a_group_under_its_minimum_and_a_gap_too_wide_fail_by_name() -> None:
    gates = slice_gates(
        [("recall", SliceRule(Bounds(min=0.75), max_gap=0.05))], slice_metrics(METRICS)
    )
    failed = [g.message for g in gates if g.verdict == "failed"]
    assert failed == [
        "slices.sex.female.recall 0.71 fails >= 0.75",
        "recall differs by 0.19 between sex groups (male 0.9, female 0.71): more than max_gap 0.05",
    ]
    passed = {g.name for g in gates if g.verdict == "passed"}
    assert passed == {
        "slices.region.north.recall",
        "slices.region.south.recall",
        "slices.region.recall.gap",
        "slices.sex.male.recall",
    }
    gap = next(g for g in gates if g.name == "slices.sex.recall.gap")
    assert (gap.rule, gap.threshold) == ("max_gap", 0.05)
    assert gap.value is not None
    assert abs(gap.value - 0.19) < 1e-12


def test_a_metric_no_slice_reports_fails() -> None:
    (gate,) = slice_gates([("f1", SliceRule(Bounds(), max_gap=0.1))], slice_metrics(METRICS))
    assert (gate.verdict, gate.value) == ("failed", None)
    assert gate.message.startswith("no slice in the metrics file reports f1 (test.slices")
