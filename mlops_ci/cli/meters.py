"""How far a long step is, as the person or the log reading stderr wants it: a bar redrawn
in place on a terminal; in a CI log (or any file), a plain line every ``EVERY`` seconds, so
a long build is never silent and the log stays short."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from mlops_ci.core.units import format_size

EVERY = 15.0  # seconds between a plain meter's lines
_REDRAW = 0.1  # seconds between a bar's redraws
_BAR = 24
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def meters_for(err: TextIO, environ: Mapping[str, str]) -> StreamMeters:
    """A bar on a terminal that can draw one, plain lines anywhere else."""
    dumb = environ.get("TERM") == "dumb"
    return StreamMeters(err, TerminalMeter if _is_terminal(err) and not dumb else PlainMeter)


class _Meter:
    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        what: str,
        total: int | None,
        unit: str,
    ) -> None:
        self.stream, self.clock = stream, clock
        self.what, self.total, self.unit = what, total, unit
        self.began = clock()
        self.shown_at: float | None = None  # when it last wrote

    def _line(self, now: float, done: int | None, note: str, *, bar: bool) -> str:
        return describe(
            self.what, done=done, total=self.total, unit=self.unit, seconds=now - self.began,
            note=note, bar=bar,
        )  # fmt: skip


class TerminalMeter(_Meter):
    """One line, redrawn in place at most every _REDRAW seconds, cleared at the end."""

    def update(self, done: int | None = None, note: str = "") -> None:
        now = self.clock()
        if self.shown_at is not None and now - self.shown_at < _REDRAW:
            return
        self.shown_at = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.stream.write("\r" + self._line(now, done, note, bar=True)[:width] + "\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.shown_at is not None:
            self.stream.write("\r\x1b[K")  # the line that follows says how it ended
            self.stream.flush()


class PlainMeter(_Meter):
    """A line every EVERY seconds; nothing for a step shorter than that."""

    def update(self, done: int | None = None, note: str = "") -> None:
        now = self.clock()
        if now - (self.shown_at or self.began) < EVERY:
            return
        self.shown_at = now
        self.stream.write(f"mlops-ci: {self._line(now, done, note, bar=False)}\n")
        self.stream.flush()

    def finish(self) -> None:
        pass  # the stage's own line says how it ended


class StreamMeters:
    """The Meters port over one stream, with meters of one kind."""

    def __init__(
        self,
        stream: TextIO,
        kind: type[TerminalMeter | PlainMeter],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.kind, self.clock = stream, kind, clock

    def start(
        self, what: str, total: int | None = None, unit: str = ""
    ) -> TerminalMeter | PlainMeter:
        return self.kind(self.stream, self.clock, what, total, unit)


def describe(
    what: str,
    *,
    done: int | None,
    total: int | None,
    unit: str,
    seconds: float,
    note: str,
    bar: bool,
) -> str:
    """``build: [#####-----] 45% 90MiB of 200MiB, 12 s; epoch 3/10``."""
    parts = [f"{what}:"]
    if done is not None and total:
        share = min(1.0, max(0.0, done / total))
        if bar:
            filled = round(share * _BAR)
            parts.append("[" + "#" * filled + "-" * (_BAR - filled) + "]")
        parts.append(f"{share:.0%} ({_amount(done, unit)} of {_amount(total, unit)}),")
    elif done is not None:
        parts.append(f"{_amount(done, unit)},")
    parts.append(f"{seconds:.0f} s")
    text = " ".join(parts)
    shown = _CONTROL.sub(" ", note).strip()[:200]
    return f"{text}; {shown}" if shown else text


def _amount(count: int, unit: str) -> str:
    return format_size(count) if unit == "bytes" else f"{count:,} {unit}".rstrip()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
