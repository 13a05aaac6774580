"""The byte scans agree with a value-by-value look, or say "don't know"."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.data.bytescan import all_hex, may_contain

texts = st.lists(
    st.one_of(st.none(), st.text(alphabet="abcdef0123456789@: xyz-", max_size=30)),
    max_size=60,
)
HEX = set("0123456789abcdefABCDEF")


@settings(max_examples=300, deadline=None)
@given(texts)
def test_may_contain_says_no_only_when_no_value_has_the_byte(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    truth = any(v is not None and ("@" in v or ":" in v) for v in values)
    if truth:
        assert may_contain(series, b"@:")
    if not may_contain(series, b"@:"):
        assert not truth


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="abcdefgABF0189 ", max_size=70))))
def test_all_hex_says_yes_only_when_every_value_is_hex(values: list[str | None]) -> None:
    if all_hex(pl.Series(values, dtype=pl.String)):
        assert all(v is None or (len(v) > 12 and set(v) <= HEX) for v in values)


def test_the_answers_that_matter() -> None:
    assert all_hex(pl.Series(["a" * 40, "0123456789abcdef" * 4, "ABCDEF0123" * 4]))
    assert not all_hex(pl.Series(["a" * 39 + "g"]))
    assert not all_hex(pl.Series(["a" * 41]))  # an odd number of digits
    assert not all_hex(pl.Series(["abc"]))  # short: it sits in its view
    assert not may_contain(pl.Series(["north", "south", None, "a longer text value"]), b"@0")
    assert may_contain(pl.Series(["north", "a longer text @ value"]), b"@")
    assert may_contain(pl.Series(["x@y"]), b"@")
    # a sliced series has an offset: not understood, so "maybe"
    assert may_contain(pl.Series(["a", "b", "c"]).slice(1, 2), b"@")


def test_may_contain_looks_at_the_range_of_the_wanted_bytes() -> None:
    # ";" lies between ":" and "@": a "maybe", never a wrong "no"
    assert may_contain(pl.Series(["semi;colon", "a;b"]), b":@")
    assert not may_contain(pl.Series(["short", "a value longer than twelve", None]), b":@")
    # a short value's bytes sit in its view, a long one's in the data buffers
    assert may_contain(pl.Series(["ab", "c:d"]), b":@")
    assert may_contain(pl.Series(["a value longer than twelve", "x" * 20 + ":"]), b":@")
    # a wanted zero byte is the views' padding: never a "no"
    assert may_contain(pl.Series(["abc"]), b"\x00")
