"""Sizes (``200MiB``) and durations (``1h30m``) as people write them in a manifest."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_SIZE = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_SIZE_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}
_DURATION = re.compile(
    r"^(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?"
    r"(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?$"
)
_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Far beyond any real limit, and small enough that timedelta and sleep() accept it.
MAX_DURATION = timedelta(days=3650)
MAX_SIZE = 1024**5


class UnitError(ValueError):
    """A size or duration that does not parse; the message says what would."""


def parse_size(value: float | str) -> int:
    """Bytes in ``value``: a whole number of bytes, or a number with a unit (``1.5GB``)."""
    if isinstance(value, bool):
        raise UnitError("a size is a number with a unit such as 200MiB, not true or false")
    if isinstance(value, float) and not math.isfinite(value):
        raise UnitError(f"{value!r} is not a size; write a number with a unit such as 200MiB")
    if isinstance(value, int | float):  # JSON Schema counts 10.0 as an integer
        size = int(value)
    else:
        match = _SIZE.match(value.strip())
        if match is None:
            raise UnitError(
                f"{value!r} is not a size; write a number with a unit such as "
                "200MiB, 1.5GB or 512kB"
            )
        number = float(match["number"]) * _SIZE_UNITS[match["unit"]]
        if not math.isfinite(number):  # more digits than a float holds
            raise UnitError(f"{value[:40]!r}... is more than 1PiB; check the unit")
        size = round(number)
    if size < 1:
        raise UnitError(f"{value!r} is less than one byte; a size must be at least 1B")
    if size > MAX_SIZE:
        raise UnitError(f"{value!r} is more than 1PiB; check the unit")
    return size


def parse_duration(value: str) -> timedelta:
    """``30d``, ``1h30m``, ``90s``: whole numbers with units w, d, h, m, s, largest first."""
    match = _DURATION.match(value.strip())
    if not value.strip() or match is None:
        raise UnitError(
            f"{value!r} is not a duration; write whole numbers with units w, d, h, "
            "m, s, largest first, such as 30d, 1h30m or 90s"
        )
    amounts = {unit: amount for unit, amount in match.groupdict().items() if amount is not None}
    if any(len(amount.lstrip("0")) > 12 for amount in amounts.values()):
        # Far past ten years in any unit (and past the digits Python parses at all).
        raise UnitError(f"{value[:40]!r} is longer than ten years; check the unit")
    seconds = sum(int(amount) * _SECONDS[unit] for unit, amount in amounts.items())
    if seconds == 0:
        raise UnitError(f"{value!r} is zero; a duration must be at least 1s")
    if seconds > MAX_DURATION.total_seconds():
        raise UnitError(f"{value!r} is longer than ten years; check the unit")
    return timedelta(seconds=seconds)


def format_size(size: int) -> str:
    """``209715200`` → ``200MiB``: the largest binary unit that keeps one decimal honest."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _SIZE_UNITS[unit]
        if size >= scale:
            number = size / scale
            return f"{number:.0f}{unit}" if number == int(number) else f"{number:.1f}{unit}"
    return f"{size}B"
