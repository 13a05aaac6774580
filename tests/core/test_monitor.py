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


def test_a_small_absolute_move_is_no_sudden_change_with_min_delta() -> None:
    """The new user's case: error_rate 0.002 -> 0.003 was flagged as +50%."""
    history = [{"error_rate": 0.002}] * 3
    flagged = evaluate({"error_rate": 0.003}, (), history, Regression(5, 0.10))
    assert flagged.breaches["sudden-change"][0].startswith("error_rate rose 50.0% to 0.003")
    tolerant = Regression(5, 0.10, min_delta=0.005)
    assert evaluate({"error_rate": 0.003}, (), history, tolerant).verdict == "passed"
    jump = evaluate({"error_rate": 0.009}, (), history, tolerant)
    assert jump.breaches["sudden-change"][0].startswith("error_rate rose 350.0% to 0.009")


def test_a_metric_that_always_wobbles_is_judged_by_its_own_spread() -> None:
    wobbly = [{"qps": v} for v in (100.0, 130.0, 80.0, 120.0, 90.0)]  # median 100, MAD 20
    rule = Regression(5, 0.10, max_score=3.0)
    one_more_wobble = evaluate({"qps": 135.0}, (), wobbly, rule)
    change = one_more_wobble.changes[0]
    assert change.score is not None
    assert abs(change.score - 35 / (1.4826 * 20)) < 1e-9
    assert one_more_wobble.verdict == "passed"
    # The relative rule alone would have flagged it.
    assert evaluate({"qps": 135.0}, (), wobbly, Regression(5, 0.10)).verdict == "failed"
    outlier = evaluate({"qps": 300.0}, (), wobbly, rule)
    assert outlier.breaches["sudden-change"] == [
        "qps rose 200.0% to 300 against the median 100 of its last 5 observations "
        "(window 5; 6.7 robust deviations off)"
    ]


def test_the_robust_score_needs_three_observations_and_a_flat_history_any_move() -> None:
    rule = Regression(5, 0.10, max_score=3.0)
    short = evaluate({"qps": 300.0}, (), [{"qps": 100.0}, {"qps": 120.0}], rule)
    assert short.changes[0].score is None
    assert short.verdict == "failed"  # max_change alone decides
    flat = evaluate({"qps": 101.0}, (), [{"qps": 100.0}] * 4, Regression(5, 0.001, max_score=3))
    assert flat.changes[0].score == float("inf")
    assert flat.changes[0].to_json()["score"] is None
    assert flat.breaches["sudden-change"][0].endswith("(window 5; it never moved before)")
