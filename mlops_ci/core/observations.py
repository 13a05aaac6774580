"""The model in production, measured: one observation per ``monitor`` run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/ ]+")


@dataclass(frozen=True)
class Observation:
    """The model in production, measured once."""

    model: str
    version: str
    at: datetime
    metrics: Mapping[str, float]
    breaches: Mapping[str, Sequence[str]]


def metric_key(series: str) -> str:
    """A series name as a tracking store keeps it as a metric key: ``name{quantile="0.95"}``
    becomes ``name.quantile.0.95`` (MLflow allows letters, digits, _ - . / and spaces)."""
    if "{" not in series:
        return _UNSAFE.sub("_", series)
    name, _, labels = series.partition("{")
    parts = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)
    flat = ".".join(f"{label}.{value}" for label, value in parts)
    return _UNSAFE.sub("_", f"{name}.{flat}")


def same_moment(first: datetime, second: datetime) -> bool:
    """Whether two moments are one observation's: a tracking store keeps it to the
    millisecond, cut or rounded either way."""
    return abs(first - second) <= timedelta(milliseconds=2)
