"""Prometheus' text format, read strictly."""

from __future__ import annotations

import math

import pytest

from mlops_ci.core.exposition import ExpositionError, canonical_series, parse_exposition

TEXT = """\
# HELP mlapp_requests_total Requests served.
# TYPE mlapp_requests_total counter
mlapp_requests_total{code="200",method="post"} 1027 1395066363000
mlapp_requests_total{method="post",code="500"} 3
# a comment
mlapp_latency_ms{quantile="0.95"} 12.5
mlapp_error_rate 0.002
mlapp_label_escapes{path="C:\\\\dir \\"x\\"\\nnext"} +Inf
mlapp_nothing NaN
mlapp_minus -Inf
# EOF
ignored after eof {{{
"""


def test_every_sample_is_a_series_with_sorted_labels() -> None:
    series = {s.key: s.value for s in parse_exposition(TEXT, "http://mlapp/metrics")}
    assert series['mlapp_requests_total{code="200",method="post"}'] == 1027
    assert series['mlapp_requests_total{code="500",method="post"}'] == 3
    assert series['mlapp_latency_ms{quantile="0.95"}'] == 12.5
    assert series["mlapp_error_rate"] == 0.002
    assert series['mlapp_label_escapes{path="C:\\\\dir \\"x\\"\\nnext"}'] == math.inf
    assert math.isnan(series["mlapp_nothing"])
    assert series["mlapp_minus"] == -math.inf
    escaped = next(s for s in parse_exposition(TEXT, "x") if s.name == "mlapp_label_escapes")
    assert escaped.labels == (("path", 'C:\\dir "x"\nnext'),)


def test_a_manifest_series_is_matched_whatever_its_label_order() -> None:
    assert canonical_series('a{z="1",b="2"}') == 'a{b="2",z="1"}'
    assert canonical_series("error_rate") == "error_rate"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ok 1\nmlapp_x\n", r"http://m/metrics, line 2: 'mlapp_x' is not a sample"),
        ("mlapp_x twelve\n", r"line 1: 'twelve' is not a number"),
        ('mlapp_x{a="1" b="2"} 1\n', r"line 1: the labels .* are malformed"),
        ("mlapp_x{a=1} 1\n", r"line 1: the labels .* are malformed"),
        ('mlapp_x{a="1",a="2"} 1\n', r"line 1: the label a appears twice"),
        ("mlapp_x 1\nmlapp_x 2\n", r"line 2: mlapp_x appears twice"),
        ("9lives 1\n", r"line 1: '9lives 1' is not a sample"),
        ("<html>\x07oops</html>\n", r"line 1: '<html>\?oops</html>' is not a sample"),
    ],
)
def test_malformed_text_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ExpositionError, match=message) as raised:
        parse_exposition(text, "http://m/metrics")
    assert raised.value.exit_status == 2
