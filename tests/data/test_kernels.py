"""The compiled loops give the answers their pure-Python twins and the references give, on
every layout Polars hands over: short and long values, missing ones, slices, many chunks."""

from __future__ import annotations

import collections
import datetime
import os
import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.data import kernels

needs_compiled = pytest.mark.skipif(
    not kernels.COMPILED, reason="the C extension is not built (a failure under CI)"
)
HEX = re.compile(r"[0-9a-fA-F]*")


def test_ci_builds_the_extension() -> None:
    # CI must measure and test the code users get; a silently skipped build would not.
    if os.environ.get("CI") == "true":
        assert kernels._kernels is not None, "mlops_ci.data._kernels did not build"


@pytest.fixture(params=["compiled", "pure"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "compiled" and not kernels.COMPILED:
        pytest.skip("the C extension is not built")
    if request.param == "pure":
        monkeypatch.setattr(kernels, "COMPILED", False)
    name: str = request.param
    return name


def layouts(values: list[str | None]) -> list[pl.Series]:
    """The same values as one chunk, as many chunks, and as a slice of a longer series."""
    whole = pl.Series("v", values, dtype=pl.String)
    pieces = [whole.slice(i, 3) for i in range(0, len(values), 3)] or [whole]
    chunked = pieces[0]
    for piece in pieces[1:]:
        chunked = chunked.append(piece)
    padded = pl.Series("v", ["pad", *values, "pad"], dtype=pl.String).slice(1, len(values))
    return [whole, chunked, padded]


texts = st.lists(
    st.one_of(st.none(), st.text(max_size=40), st.text(alphabet="0123456789abcdef", max_size=140)),
    max_size=40,
)


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 2**64 - 1))
def test_hashes_are_xxh3_to_240_bytes_and_xxh64_beyond(values: list[str | None], seed: int) -> None:
    expected = [
        (xxhash.xxh3_64_intdigest if len(v.encode()) <= 240 else xxhash.xxh64_intdigest)(
            v.encode(), seed=seed
        )
        for v in values
        if v is not None
    ]
    for series in layouts(values):
        assert kernels.hashes(series, seed).tolist() == expected


@needs_compiled
def test_hashes_of_every_length_up_to_600_bytes() -> None:
    values = ["é" * (n // 2) + "x" * (n % 2) for n in range(600)]
    found = kernels.hashes(pl.Series(values), 7)
    for value, hash_ in zip(values, found.tolist(), strict=True):
        data = value.encode()
        reference = xxhash.xxh3_64_intdigest if len(data) <= 240 else xxhash.xxh64_intdigest
        assert hash_ == reference(data, seed=7), len(data)


def test_hashes_reuse_the_room_they_are_given(mode: str) -> None:
    room = np.zeros(10, np.uint64)
    found = kernels.hashes(pl.Series(["a", None, "b"]), 1, room)
    assert len(found) == 2
    if mode == "compiled":
        assert np.shares_memory(found, room)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="abcdefABCDEF0123456789g ", max_size=130))))
def test_all_digests_is_exact_when_compiled(values: list[str | None]) -> None:
    truth = all(v is None or (len(v) in (40, 64, 128) and HEX.fullmatch(v)) for v in values)
    for series in layouts(values):
        if kernels.COMPILED:
            assert kernels.all_digests(series) == truth
        elif kernels.all_digests(series):
            assert truth


def test_all_digests_on_the_answers_that_matter(mode: str) -> None:
    assert kernels.all_digests(pl.Series(["a" * 40, "0123456789abcdef" * 4, "ABCDEF0123" * 4]))
    assert kernels.all_digests(pl.Series(["f" * 128, None]))
    assert not kernels.all_digests(pl.Series(["a" * 39 + "g"]))
    assert not kernels.all_digests(pl.Series(["a" * 41]))
    assert not kernels.all_digests(pl.Series(["abc"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="abcz@:;é 019-", max_size=30)), max_size=60))
def test_may_contain_says_no_only_when_no_value_has_the_byte(values: list[str | None]) -> None:
    truth = any(v is not None and ("@" in v or ":" in v or ";" in v) for v in values)
    for series in layouts(values):
        assert kernels.may_contain(series, b"@:") or not truth
        if kernels.COMPILED and not any(v and len(v.encode()) > 12 for v in values):
            assert kernels.may_contain(series, b"@:") == truth  # short values: exact


def test_may_contain_looks_at_short_and_long_values(mode: str) -> None:
    assert not kernels.may_contain(pl.Series(["north", "south", None, "a longer value"]), b"@0")
    assert kernels.may_contain(pl.Series(["north", "a longer text @ value"]), b"@")
    assert kernels.may_contain(pl.Series(["x@y"]), b"@")
    assert kernels.may_contain(pl.Series(["ab", "c:d"]), b":@")
    assert not kernels.may_contain(pl.Series(["twelve bytes"]), b"0")
    assert kernels.may_contain(pl.Series(["twelve byte0"]), b"0")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "north", "x" * 13, "x" * 14, "é"]))),
    st.lists(st.sampled_from(["", "a", "north", "x" * 13, "é", "south"]), max_size=6),
)
def test_codes_are_the_first_equal_wanted_value(
    values: list[str | None], wanted: list[str]
) -> None:
    expected = [
        kernels.MISSING if v is None else (wanted.index(v) if v in wanted else kernels.OTHER)
        for v in values
    ]
    for series in layouts(values):
        assert kernels.codes(series, pl.Series(wanted, dtype=pl.String)).tolist() == expected


def test_codes_of_numbers_and_the_pure_path(mode: str) -> None:
    found = kernels.codes(pl.Series([0, 1, None, 2, 1]), pl.Series([1, 0]))
    assert found.tolist() == [1, 0, kernels.MISSING, kernels.OTHER, 0]
    found = kernels.codes(pl.Series(["b", None, "c"]), pl.Series(["a", "b"]))
    assert found.tolist() == [1, kernels.MISSING, kernels.OTHER]
    with pytest.raises(ValueError, match="at most 250"):
        kernels.codes(pl.Series(["a"]), pl.Series([str(i) for i in range(251)]))


def both_ways() -> list[bool]:
    return [True, False] if kernels.COMPILED else [False]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300), st.integers(1, 10))
def test_partition_groups_by_the_top_bits(numbers: list[int], bits: int) -> None:
    hashes = np.array(numbers, np.uint64)
    for compiled in both_ways():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(kernels, "COMPILED", compiled)
            ordered, bounds = kernels.partition(hashes, bits)
        assert sorted(ordered.tolist()) == sorted(numbers)
        for part in range(1 << bits):
            group = ordered[bounds[part] : bounds[part + 1]]
            assert all(int(h) >> (64 - bits) == part for h in group)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2]), max_size=300))
def test_repeats_count_every_value_after_its_first(numbers: list[int]) -> None:
    counts = collections.Counter(numbers)
    for compiled in both_ways():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(kernels, "COMPILED", compiled)
            count, repeated = kernels.repeats(np.array(numbers, np.uint64), 1000)
            limited = kernels.repeats(np.array(numbers, np.uint64), 1)[1]
        assert count == sum(n - 1 for n in counts.values())
        assert sorted(repeated.tolist()) == sorted(v for v, n in counts.items() if n > 1)
        assert len(limited) == min(1, len(repeated))


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.just(""),
            st.dates(min_value=datetime.date(1, 1, 1)).map(datetime.date.isoformat),
            st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True),
        ),
        max_size=30,
    )
)
def test_iso_dates_agree_with_the_calendar(values: list[str | None]) -> None:
    def parsed(text: str) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None

    valid = all(v is None or v == "" or parsed(v) is not None for v in values)
    for series in layouts(values):
        found = kernels.iso_dates(series)
        if not valid:
            assert found is None
            continue
        assert found is not None
        assert found.dtype == pl.Date
        assert found.to_list() == [None if not v else parsed(v) for v in values]


def test_iso_dates_refuse_other_forms() -> None:
    for text in [
        "2020-1-01",
        "2020/01/01",
        "0000-01-01",
        "2019-02-29",
        "2020-13-01",
        " 2020-01-01",
    ]:
        assert kernels.iso_dates(pl.Series([text])) is None, text


def test_any_empty(mode: str) -> None:
    assert kernels.any_empty(pl.Series(["a", "", None]))
    assert not kernels.any_empty(pl.Series(["a", None, "a longer text value"]))
    assert not kernels.any_empty(pl.Series([None], dtype=pl.String))


def test_the_blas_thread_setting_does_not_reach_the_models_commands() -> None:
    code = (
        "import os, subprocess, sys\n"
        "import mlops_ci.data.checks.scan\n"
        "assert 'OPENBLAS_NUM_THREADS' not in os.environ\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"},
    )
    # numpy was loaded with one BLAS thread: no thread beyond Polars' own pool
    threads = int(found.stdout)
    bare = subprocess.run(
        [sys.executable, "-c", "import os, polars\nprint(len(os.listdir('/proc/self/task')))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert threads <= int(bare.stdout)
