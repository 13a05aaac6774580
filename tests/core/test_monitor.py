"""SLOs and sudden changes, evaluated purely."""

from __future__ import annotations

from mlops_ci.core.monitor import evaluate, watched
from mlops_ci.core.settings import Bounds, Regression

SLO = (("latency_p95_ms", Bounds(max=30.0)), ("error_rate", Bounds(max=0.01)))
HISTORY = [  # newest first
    {"latency_p95_ms": 12.0, "error_rate": 0.002},
    {"latency_p95_ms": 11.0, "error_rate": 0.002},
    {"latency_p95_ms": 13.0, "error_rate": 0.003},
    {"latency_p95_ms": 12.5},
    {"latency_p95_ms": 90.0},  # outside the window of 4
]


def test_within_bounds_and_steady_passes() -> None:
    result = evaluate(
        {"latency_p95_ms": 12.4, "error_rate": 0.0021}, SLO, HISTORY, Regression(4, 0.10)
    )
    assert result.verdict == "passed"
    assert result.breaches == {}
    latency = next(c for c in result.changes if c.name == "latency_p95_ms")
    assert (latency.median, latency.observations) == (12.25, 4)
    assert latency.change is not None
    assert abs(latency.change - (12.4 - 12.25) / 12.25) < 1e-12


def test_an_slo_breach_and_a_sudden_change_are_two_kinds() -> None:
    result = evaluate(
        {"latency_p95_ms": 29.0, "error_rate": 0.02}, SLO, HISTORY, Regression(4, 0.5)
    )
    assert result.verdict == "failed"
    assert result.breaches["slo"] == ["error_rate 0.02 fails <= 0.01"]
    # error_rate moved too (0.02 against a median of 0.002): a breach of both kinds
    errors, latency = result.breaches["sudden-change"]
    assert errors.startswith("error_rate rose 900.0% to 0.02 against the median 0.002 of its")
    assert latency.startswith("latency_p95_ms rose 136.7% to 29 against the median 12.25")


def test_no_history_is_not_a_change_and_a_missing_slo_metric_fails() -> None:
    result = evaluate({"latency_p95_ms": 12.0}, SLO, [], Regression())
    change = result.changes[0]
    assert (change.median, change.change, change.sudden) == (None, None, False)
    assert result.breaches == {"slo": ["error_rate is missing from the metrics"]}


def test_a_move_away_from_zero_is_sudden() -> None:
    result = evaluate({"errors": 3.0}, (), [{"errors": 0.0}] * 3, Regression())
    assert result.breaches["sudden-change"] == [
        "errors rose from zero to 3 against the median 0 of its last 3 observations (window 5)"
    ]
    steady = evaluate({"errors": 0.0}, (), [{"errors": 0.0}] * 3, Regression())
    assert steady.verdict == "passed"


def test_the_exporters_own_series_are_left_out_unless_named() -> None:
    observed = {
        "mlapp_latency_ms": 1.0,
        "process_cpu_seconds_total": 2.0,
        'python_gc_objects_collected_total{generation="0"}': 3.0,
        "mlapp_requests_created": 4.0,
        'mlapp_latency_bucket{le="0.5"}': 5.0,
    }
    assert watched(observed, [], []) == {"mlapp_latency_ms": 1.0}
    assert watched(observed, ["process_cpu_seconds_total"], []) == {
        "mlapp_latency_ms": 1.0,
        "process_cpu_seconds_total": 2.0,
    }
    assert watched(observed, [], ["mlapp_requests_created"]) == {"mlapp_requests_created": 4.0}
