"""Drift between two profiles: the measures against their closed forms, the stored form read
back as untrusted, and the gates' verdicts and sentences."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from mlops_ci.core.drift import (
    OTHER,
    QUANTILE_POINTS,
    ColumnProfile,
    Profile,
    ProfileError,
    drift_gates,
    drift_of,
    histogram_column,
    ks,
    profile_from_json,
    psi,
    wasserstein,
)
from mlops_ci.core.exposition import histogram_buckets
from mlops_ci.core.settings import DriftLimits


def normal(mean: float, std: float = 1.0) -> ColumnProfile:
    """A normal distribution's profile, its tails cut at 0.01 % and 99.99 %."""
    dist = NormalDist(mean, std)
    points = [min(max(i / (QUANTILE_POINTS - 1), 1e-4), 1 - 1e-4) for i in range(QUANTILE_POINTS)]
    return ColumnProfile("numeric", 0.0, tuple(dist.inv_cdf(p) for p in points), mean, std)


def categories(**shares: float) -> ColumnProfile:
    return ColumnProfile("categorical", 0.0, shares=(*shares.items(), (OTHER, 0.0)))


def test_the_same_distribution_has_no_drift() -> None:
    for column in (normal(3.0, 2.0), categories(a=0.5, b=0.3, c=0.2)):
        assert psi(column, column) == 0.0
    assert ks(normal(0), normal(0)) == 0.0
    assert wasserstein(normal(0), normal(0)) == 0.0


def test_a_shifted_normal_measures_as_its_closed_forms() -> None:
    before, after = normal(0.0), normal(0.5)
    # KS of two unit normals half a deviation apart: 2 * Phi(0.25) - 1
    assert ks(before, after) == pytest.approx(2 * NormalDist().cdf(0.25) - 1, abs=0.01)
    # Wasserstein of a shift is the shift, here in units of the deviation
    assert wasserstein(before, after) == pytest.approx(0.5, abs=0.01)
    assert wasserstein(normal(0.0, 4.0), normal(2.0, 4.0)) == pytest.approx(0.5, abs=0.01)
    # PSI over the reference's deciles grows with the shift
    assert 0.1 < psi(before, after) < 0.3
    assert psi(before, normal(0.1)) < 0.02 < psi(before, after) < psi(before, normal(1.0))


def test_psi_of_categories_counts_new_and_vanished_values() -> None:
    before = categories(a=0.5, b=0.5)
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert psi(before, categories(a=0.3, b=0.7)) == pytest.approx(expected)
    # a value production never saw counts as "other", an empty bin floored, never infinite
    newcomer = ColumnProfile("categorical", 0.0, shares=(("a", 0.5), (OTHER, 0.5)))
    assert 1.0 < psi(before, newcomer) < 10.0


def test_discrete_numbers_read_off_their_quantiles() -> None:
    zeros = ColumnProfile("numeric", 0.0, tuple([0.0] * 70 + [1.0] * 31), 0.3, 0.46)
    same = ColumnProfile("numeric", 0.0, tuple([0.0] * 70 + [1.0] * 31), 0.3, 0.46)
    more = ColumnProfile("numeric", 0.0, tuple([0.0] * 40 + [1.0] * 61), 0.6, 0.49)
    assert ks(zeros, same) == 0.0
    assert ks(zeros, more) == pytest.approx(0.3, abs=0.011)


def test_drift_of_measures_the_columns_both_profiles_hold() -> None:
    reference = Profile(
        10, 10, {"x": normal(0), "plan": categories(a=1.0), "id": ColumnProfile("other", 0.0)}
    )
    current = Profile(10, 10, {"x": normal(1), "plan": categories(a=1.0), "new": normal(0)})
    measured = drift_of(reference, current)
    assert set(measured) == {"x", "plan"}
    assert set(measured["x"]) == {"psi", "ks", "wasserstein"}
    assert set(measured["plan"]) == {"psi"}


def test_the_gates_name_the_worst_columns_and_skip_before_a_release() -> None:
    limits = DriftLimits(psi=0.2, ks=0.1)
    reference = Profile(100, 100, {"x": normal(0), "y": normal(0), "z": normal(0)})
    current = Profile(100, 100, {"x": normal(1), "y": normal(0.02), "z": normal(0.6)})
    skipped = drift_gates("train", limits, current, None, None)
    assert [(g.name, g.verdict) for g in skipped] == [
        ("train: drift psi", "skipped"),
        ("train: drift ks", "skipped"),
    ]
    gates = drift_gates("train", limits, current, reference, "1.4.0")
    assert [g.verdict for g in gates] == ["failed", "failed"]
    assert gates[1].value == pytest.approx(ks(normal(0), normal(1)))
    assert "'x'" in gates[1].message
    assert "'z'" in gates[1].message
    assert "'y'" not in gates[1].message
    assert "against 1.4.0's training data" in gates[1].message
    calm = drift_gates("train", DriftLimits(ks=0.5), current, reference, "1.4.0")
    assert calm[0].verdict == "passed"
    assert "largest: 'x'" in calm[0].message


def test_a_release_without_a_profile_or_column_fails_with_the_reason() -> None:
    current = Profile(100, 100, {"x": normal(0)})
    [gate] = drift_gates("train", DriftLimits(psi=0.2), current, None, "1.4.0")
    assert gate.verdict == "failed"
    assert "the records of 1.4.0 hold no profile of 'train'" in gate.message
    [gate] = drift_gates(
        "train", DriftLimits(psi=0.2, columns=("price",)), current, current, "1.4.0"
    )
    assert gate.verdict == "failed"
    assert "no column 'price'" in gate.message


def test_a_profile_reads_back_as_it_was_written() -> None:
    profile = Profile(
        1000,
        500,
        {
            "x": normal(2.0, 3.0),
            "plan": ColumnProfile(
                "categorical", 0.1, shares=(("a", 0.6), ("b", 0.3), (OTHER, 0.1))
            ),
            "id": ColumnProfile("other", 0.0),
        },
    )
    assert profile_from_json(profile.to_json(), "here") == profile


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        ([], "the profile is not an object"),
        ({"rows": -1, "sampled": 1, "columns": {}}, "needs rows, sampled and columns"),
        ({"rows": 1, "sampled": 1, "columns": {"x": {"kind": "weird"}}}, "column x: kind must be"),
        (
            {"rows": 1, "sampled": 1, "columns": {"x": {"kind": "other", "nulls": 2}}},
            "nulls must be a share",
        ),
        (
            {
                "rows": 1,
                "sampled": 1,
                "columns": {"x": {"kind": "numeric", "nulls": 0, "quantiles": [3, 2, 1]}},
            },
            "quantiles must be 101 rising numbers",
        ),
        (
            {
                "rows": 1,
                "sampled": 1,
                "columns": {
                    "x": {"kind": "numeric", "nulls": 0, "quantiles": [0.0] * 100 + [float("nan")]}
                },
            },
            "quantiles must be 101 rising numbers",
        ),
        (
            {
                "rows": 1,
                "sampled": 1,
                "columns": {"x": {"kind": "categorical", "nulls": 0, "shares": {"a": "x"}}},
            },
            "shares must map values to shares",
        ),
    ],
)
def test_a_stored_profile_that_is_not_one_is_refused_by_name(stored: object, said: str) -> None:
    with pytest.raises(ProfileError, match=said) as raised:
        profile_from_json(stored, "the ingest record of 1.4.0")
    assert str(raised.value).startswith("the ingest record of 1.4.0")


def test_a_histogram_is_measured_at_its_own_bounds() -> None:
    reference = normal(0.0)
    dist = NormalDist(0.0, 1.0)
    bounds = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
    same = [(b, 1000 * dist.cdf(b)) for b in bounds] + [(math.inf, 1000.0)]
    column = histogram_column(same, low=reference.quantiles[0])
    assert column is not None
    assert ks(reference, column) < 0.002  # exact at the bounds, whatever lies between
    assert psi(reference, column) < 0.001
    moved = NormalDist(0.5, 1.0)
    shifted = [(b, 1000 * moved.cdf(b)) for b in bounds] + [(math.inf, 1000.0)]
    far = histogram_column(shifted, low=reference.quantiles[0])
    assert far is not None
    assert ks(reference, far) == pytest.approx(2 * dist.cdf(0.25) - 1, abs=0.01)
    # counts that fall, a histogram without +Inf or without observations: no lie told
    falling = histogram_column([(1.0, 5.0), (2.0, 3.0), (math.inf, 5.0)], low=0.0)
    assert falling is not None
    assert list(falling.quantiles) == sorted(falling.quantiles)
    assert histogram_column([(1.0, 5.0)], low=0.0) is None
    assert histogram_column([(1.0, 0.0), (math.inf, 0.0)], low=0.0) is None


def test_histogram_buckets_add_up_over_the_other_labels() -> None:
    values = {
        'lat_bucket{le="1",pod="a"}': 1.0,
        'lat_bucket{le="1",pod="b"}': 2.0,
        'lat_bucket{le="+Inf",pod="a"}': 4.0,
        'lat_bucket{le="+Inf",pod="b"}': 4.0,
        'lat_bucket{le="soon"}': 9.0,
        "lat_count": 8.0,
        'other_bucket{le="1"}': 7.0,
    }
    assert histogram_buckets(values, "lat") == [(1.0, 3.0), (math.inf, 8.0)]
    assert histogram_buckets(values, "missing") == []
