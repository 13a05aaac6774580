"""Meters that show nothing: what a use case gets when nobody watches it (tests, a
library caller). See ports.Meters."""

from __future__ import annotations


class SilentMeter:
    def update(self, done: int | None = None, note: str = "") -> None:
        del done, note

    def finish(self) -> None:
        pass


class SilentMeters:
    def start(self, what: str, total: int | None = None, unit: str = "") -> SilentMeter:
        del what, total, unit
        return SilentMeter()


SILENT = SilentMeters()
