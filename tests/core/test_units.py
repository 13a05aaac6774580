from __future__ import annotations

from datetime import timedelta

import pytest

from mlops_ci.core.units import UnitError, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("200MiB", 200 * 1024**2),
        ("1.5GB", 1_500_000_000),
        ("512kB", 512_000),
        ("512 KB", 512_000),
        ("1B", 1),
        ("2TiB", 2 * 1024**4),
        ("0.5KiB", 512),
        (4096, 4096),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("200", "'200' is not a size; write a number with a unit such as 200MiB, 1.5GB or 512kB"),
        ("0MiB", "'0MiB' is less than one byte; a size must be at least 1B"),
        ("0.1B", "'0.1B' is less than one byte; a size must be at least 1B"),
        ("2048TiB", "'2048TiB' is more than 1PiB; check the unit"),
        (0, "0 is less than one byte; a size must be at least 1B"),
        (True, "a size is a number with a unit such as 200MiB, not true or false"),
    ],
)
def test_bad_sizes(text: str | int, message: str) -> None:
    with pytest.raises(UnitError) as raised:
        parse_size(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("30d", timedelta(days=30)),
        ("1h30m", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("2w1d", timedelta(days=15)),
        ("1w2d3h4m5s", timedelta(days=9, seconds=3 * 3600 + 245)),
    ],
)
def test_parse_duration(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "30", "30 days", "1m1h", "1.5h", "0s", "0d0h", "99999w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UnitError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [(200 * 1024**2, "200MiB"), (1536, "1.5KiB"), (10, "10B"), (3 * 1024**4, "3TiB")],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "is not a size"),
        (float("inf"), "is not a size"),
        (float("-inf"), "is not a size"),
        ("9" * 400 + "MiB", "is more than 1PiB"),
    ],
)
def test_sizes_past_any_float_are_refused(value: float | str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        parse_size(value)


def test_a_duration_of_thousands_of_digits_is_refused() -> None:
    with pytest.raises(UnitError, match="longer than ten years"):
        parse_duration("9" * 5000 + "d")
    assert parse_duration("000000000000000000030d") == timedelta(days=30)
