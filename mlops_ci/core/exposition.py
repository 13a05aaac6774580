"""Prometheus' text exposition format (and OpenMetrics' text, which it reads the same),
parsed strictly: every sample becomes one series, named ``name`` or, with labels,
``name{label="value",...}`` with the labels sorted, which is how a manifest names it.

Pure: the text is passed in. Text that breaks the format is refused with the line and what
is wrong there, never guessed at; the endpoint answering it is not to be trusted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from mlops_ci.errors import ExitStatus, MlopsCiError

MAX_SERIES = 100_000
MAX_BYTES = 32 * 1024 * 1024  # the most text a metrics source may hold

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"({_NAME})(\{{.*\}})?[ \t]+(\S+)(?:[ \t]+(-?\d+(?:\.\d+)?))?[ \t]*")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*')
_TYPE = re.compile(rf"#[ \t]+TYPE[ \t]+({_NAME})[ \t]+(\w+)")
_RUNNING = {
    "counter": ("", "_total", "_created"),
    "histogram": ("_count", "_sum", "_bucket", "_created"),
    "gaugehistogram": ("_gcount", "_gsum", "_bucket"),
    "summary": ("_count", "_sum", "_created"),
}
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_VALUES = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}


class ExpositionError(MlopsCiError):
    """Text that is not the Prometheus exposition format."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Series:
    """One sample: its metric family's name, its labels (sorted) and its value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    # A running total (a counter, a histogram's or summary's _count, _sum and buckets):
    # it only grows, so its moves are not changes in how the model does.
    cumulative: bool = False

    @property
    def key(self) -> str:
        return series_key(self.name, self.labels)


def series_key(name: str, labels: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{label}="{_escape(value)}"' for label, value in sorted(labels))
    return f"{name}{{{inner}}}"


def canonical_series(text: str) -> str:
    """A series as a manifest names it, its labels put in the order series keys use."""
    if "{" not in text:
        return text
    name, _, rest = text.partition("{")
    return series_key(name, list(_labels(rest.removesuffix("}"), repr(text))))


def parse_exposition(text: str, source: str) -> list[Series]:
    """Every sample of ``text`` (from ``source``, named in messages), in order."""
    found: list[Series] = []
    seen: set[str] = set()
    types: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            if stripped == "# EOF":
                break
            declared = _TYPE.fullmatch(stripped)
            if declared is not None:
                types[declared.group(1)] = declared.group(2).lower()
            continue
        series = _sample(stripped, f"{source}, line {number}")
        if _cumulative(series.name, types):
            series = Series(series.name, series.labels, series.value, cumulative=True)
        if series.key in seen:
            raise ExpositionError(f"{source}, line {number}: {series.key} appears twice")
        seen.add(series.key)
        found.append(series)
        if len(found) > MAX_SERIES:
            raise ExpositionError(
                f"{source}: more than {MAX_SERIES} samples; point monitor.source at an "
                "endpoint that exposes the model's metrics only"
            )
    return found


def _cumulative(name: str, types: dict[str, str]) -> bool:
    for suffix in ("", "_total", "_created", "_count", "_sum", "_bucket", "_gcount", "_gsum"):
        family = name.removesuffix(suffix) if suffix else name
        if (suffix == "" or name.endswith(suffix)) and family in types:
            return suffix in _RUNNING.get(types[family], ())
    return False


def _sample(line: str, where: str) -> Series:
    matched = _SAMPLE.fullmatch(line)
    if matched is None:
        raise ExpositionError(
            f"{where}: {_shown(line)} is not a sample (name, optional {{labels}}, value)"
        )
    name, labels_text, value_text = matched.group(1), matched.group(2), matched.group(3)
    labels = _labels(labels_text[1:-1], where) if labels_text else ()
    return Series(name, labels, _value(value_text, where))


def _labels(text: str, where: str) -> tuple[tuple[str, str], ...]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        matched = _LABEL.match(text, position)
        if matched is None:
            raise ExpositionError(f"{where}: the labels {{{_shown(text)}}} are malformed")
        label, value = matched.group(1), matched.group(2)
        if label in labels:
            raise ExpositionError(f"{where}: the label {label} appears twice")
        labels[label] = re.sub(r"\\.", lambda m: _ESCAPES.get(m.group(0), m.group(0)), value)
        position = matched.end()
        if position < len(text):
            if text[position] != ",":
                raise ExpositionError(f"{where}: the labels {{{_shown(text)}}} are malformed")
            position += 1
    return tuple(sorted(labels.items()))


def _value(text: str, where: str) -> float:
    special = _VALUES.get(text.lower())
    if special is not None:
        return special
    try:
        return float(text)
    except ValueError:
        raise ExpositionError(f"{where}: {_shown(text)} is not a number") from None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _shown(text: str) -> str:
    """A piece of an untrusted answer, short and printable, for a message."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return repr(clean[:80] + ("…" if len(clean) > 80 else ""))


def shown_url(url: str) -> str:
    """The URL without its user and password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def histogram_buckets(values: Mapping[str, float], metric: str) -> list[tuple[float, float]]:
    """The buckets of histogram ``metric`` among series ``values`` (keyed as series_key
    writes them): each upper bound ``le`` with its cumulative count, summed over the
    series' other labels (one histogram per pod adds up); [] when there is none."""
    prefix = f"{metric}_bucket"
    counts: dict[float, float] = {}
    for key, value in values.items():
        name, _, rest = key.partition("{")
        if name != prefix or not rest:
            continue
        labels = dict(_labels(rest.removesuffix("}"), repr(key)))
        try:
            bound = float(labels.get("le", "nan"))
        except ValueError:
            continue
        if not math.isnan(bound):
            counts[bound] = counts.get(bound, 0.0) + value
    return sorted(counts.items())
