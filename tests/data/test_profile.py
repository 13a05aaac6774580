"""A data set's profile: exact below a sample's size, close to the whole file's above it,
the same on every read and in every engine, and never a value that is personal data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mlops_ci.core.drift import OTHER, Profile, drift_of
from mlops_ci.data.data_set import check_data_set
from mlops_ci.data.profile import MAX_CATEGORIES, SAMPLE_ROWS, Profiler
from mlops_ci.manifest.model import DataSet, Engine


def profiled(frame: pl.DataFrame, batch_rows: int) -> Profile:
    profiler = Profiler(frame.schema)
    for start in range(0, frame.height, batch_rows):
        profiler.add(frame.slice(start, batch_rows))
    return profiler.profile(frame.height)


def customers(rows: int, seed: int = 3) -> pl.DataFrame:
    random = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "tenure": random.gamma(2.0, 10.0, rows),
            "calls": random.integers(0, 5, rows),
            "plan": random.choice(["basic", "pro", "enterprise"], rows, p=[0.6, 0.3, 0.1]),
            "id": [f"c{i}" for i in range(rows)],
        }
    )


def test_a_data_set_smaller_than_a_sample_is_profiled_whole() -> None:
    frame = customers(5_000)
    profile = profiled(frame, 777)
    assert (profile.rows, profile.sampled) == (5_000, 5_000)
    tenure = profile.columns["tenure"]
    exact = np.quantile(frame["tenure"].to_numpy(), [0.0, 0.25, 0.5, 1.0])
    assert [tenure.quantiles[i] for i in (0, 25, 50, 100)] == pytest.approx(exact, rel=1e-5)
    shares = dict(profile.columns["plan"].shares)
    assert shares["basic"] == pytest.approx((frame["plan"] == "basic").mean(), rel=1e-5)
    assert profile.columns["id"].kind == "other"  # 5,000 values: an identifier, not kept


def test_a_large_stream_is_sampled_uniformly_and_the_same_on_every_read() -> None:
    frame = customers(400_000)
    profile = profiled(frame, 25_000)
    assert profile.sampled == SAMPLE_ROWS
    whole = profiled(frame, frame.height)  # one batch: another path through the sampler
    full = Profiler(frame.schema)
    full_profile = full.profile(0)
    assert full_profile.sampled == 0
    # the sample's quantiles sit where the whole column's are (rank error well under 2 %)
    exact = np.quantile(frame["tenure"].to_numpy(), np.linspace(0, 1, 101))
    for column in (profile.columns["tenure"], whole.columns["tenure"]):
        ranks = np.searchsorted(np.sort(frame["tenure"].to_numpy()), column.quantiles[5:96])
        assert np.abs(ranks / frame.height - np.linspace(0.05, 0.95, 91)).max() < 0.02
        assert column.quantiles[50] == pytest.approx(exact[50], rel=0.03)
    shares = dict(profile.columns["plan"].shares)
    assert shares["enterprise"] == pytest.approx(0.1, abs=0.01)
    # the sample of the first 200,000 rows is not the sample of rows from the whole file
    early = profiled(frame.head(200_000), 25_000)
    assert early.columns["tenure"] != profile.columns["tenure"]
    assert profiled(frame, 25_000) == profile  # deterministic: the same file, the same profile
    for measures in drift_of(profile, whole).values():
        assert measures["psi"] < 0.01


def test_personal_data_long_values_and_many_values_never_reach_the_profile() -> None:
    rows = 3_000
    frame = pl.DataFrame(
        {
            "contact": ["ann@example.com", "north", "+44 20 7946 0958", "x" * 80] * (rows // 4)
            + ["north"] * (rows % 4),
            "city": [f"city {i % (MAX_CATEGORIES + 1)}" for i in range(rows)],
            "flag": [True, False, None] * (rows // 3),
        }
    )
    profile = profiled(frame, 1_000)
    text = json.dumps(profile.to_json())
    assert "ann@example.com" not in text
    assert "7946" not in text
    assert "x" * 80 not in text
    contact = dict(profile.columns["contact"].shares)
    assert contact == {"north": 0.25, OTHER: 0.75}
    assert profile.columns["city"].kind == "other"
    flag = profile.columns["flag"]
    assert (flag.kind, flag.nulls) == ("categorical", pytest.approx(1 / 3, rel=1e-5))
    assert dict(flag.shares) == {"false": 0.5, "true": 0.5, OTHER: 0.0}


def test_duckdb_samples_a_large_file_close_to_the_local_sample(tmp_path: Path) -> None:
    frame = customers(120_000, seed=9).drop("id")
    path = tmp_path / "customers.parquet"
    frame.write_parquet(path)
    local, engine = (
        check_data_set(DataSet("c", path, "parquet", engine=Engine(kind)), "c").profile
        for kind in ("local", "duckdb")
    )
    assert local is not None
    assert engine is not None
    assert engine.sampled == local.sampled == SAMPLE_ROWS
    assert engine != local  # two samples...
    for column, measures in drift_of(local, engine).items():  # ...of the same distribution
        assert measures["psi"] < 0.01, column
        assert measures.get("ks", 0.0) < 0.03, column


def test_an_identifier_stops_being_gathered_but_keeps_its_share_of_nulls() -> None:
    rows = 60_000
    ids = [None if i % 10 == 0 else f"customer {i}" for i in range(rows)]
    frame = pl.DataFrame({"id": ids, "plan": ["a", "b"] * (rows // 2)})
    profiler = Profiler(frame.schema)
    for start in range(0, rows, 5_000):
        profiler.add(frame.slice(start, 5_000))
    assert profiler.columns == ["plan"]  # the sample filled: the identifier is not gathered
    profile = profiler.profile(rows)
    assert profile.columns["id"].kind == "other"
    assert profile.columns["id"].nulls == pytest.approx(0.1, abs=0.02)
