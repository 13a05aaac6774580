from __future__ import annotations

from mlops_ci.core.gates import (
    Bounds,
    RelativeBounds,
    absolute_gates,
    flatten_metrics,
    overall,
    relative_gates,
)


def test_flatten_reads_nested_objects_as_dotted_names() -> None:
    data = {
        "accuracy": 0.9,
        "eval": {"f1": 0.8, "per_class": {"a": 1}},
        "ok": True,
        "name": "x",
        "nan": float("nan"),
        "rows": 1000,
    }
    assert flatten_metrics(data) == {
        "accuracy": 0.9,
        "eval.f1": 0.8,
        "eval.per_class.a": 1.0,
        "rows": 1000.0,
    }


def test_absolute_gates() -> None:
    results = absolute_gates(
        [
            ("accuracy", Bounds(min=0.9)),
            ("log_loss", Bounds(max=0.3)),
            ("f1", Bounds(min=0.8, max=1.0)),
            ("auc", Bounds(min=0.5)),
        ],
        {"accuracy": 0.91, "log_loss": 0.35, "f1": 0.84},
    )
    assert [(r.name, r.rule, r.verdict) for r in results] == [
        ("accuracy", "min", "passed"),
        ("log_loss", "max", "failed"),
        ("f1", "min", "passed"),
        ("f1", "max", "passed"),
        ("auc", "min", "failed"),
    ]
    assert results[1].message == "log_loss 0.35 fails <= 0.3"
    assert results[4].message == "auc is missing from the metrics"
    assert overall(results) == "failed"
    assert overall(results[:1]) == "passed"


def test_relative_gates_against_production() -> None:
    gates = [("accuracy", RelativeBounds(max_drop=0.005)), ("latency", RelativeBounds(max_rise=2))]
    results = relative_gates(
        gates, {"accuracy": 0.90, "latency": 11}, {"accuracy": 0.91, "latency": 10}, "1.43.13"
    )
    assert [(r.name, r.verdict) for r in results] == [("accuracy", "failed"), ("latency", "passed")]
    assert results[0].message == (
        "accuracy drops 0.01 against 1.43.13 (0.91 → 0.9); max_drop 0.005"
    )
    assert results[0].delta is not None
    assert round(results[0].delta, 6) == -0.01


def test_relative_gates_without_production_are_skipped_not_passed() -> None:
    results = relative_gates(
        [("accuracy", RelativeBounds(max_drop=0.005))], {"accuracy": 0.9}, None, None
    )
    assert [(r.verdict, r.message) for r in results] == [
        ("skipped", "accuracy: no release yet to compare with")
    ]
    assert overall(results) == "passed"


def test_a_metric_production_lacks_fails_with_a_sentence() -> None:
    results = relative_gates(
        [("auc", RelativeBounds(max_drop=0.01))], {"auc": 0.9}, {"accuracy": 0.9}, "1.43.13"
    )
    assert results[0].verdict == "failed"
    assert results[0].message == "auc is missing from the metrics of 1.43.13"
