"""What the benchmarks share: a measurement in a process of its own, and its peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def peak_rss() -> int:
    """This process's peak resident memory. Not getrusage: on Linux a child started by
    posix_spawn reports its parent's peak there, carried across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(script: str, *arguments: str) -> dict[str, Any]:
    """Runs ``script --child ARGUMENTS`` and returns the JSON its last line prints."""
    done = subprocess.run(
        [sys.executable, script, "--child", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{arguments[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def spread(values: list[float], digits: int = 3) -> dict[str, float]:
    """The median of ``values`` beside its min and max: what a noisy machine allows."""
    import statistics

    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def paired(ours: list[float], theirs: list[float], digits: int = 3) -> dict[str, float]:
    """Each run's ours / theirs, the two measured side by side in that run: a ratio of
    figures from different runs would mix two states of the machine."""
    return spread([a / b for a, b in zip(ours, theirs, strict=True)], digits)


def rotated(names: list[T], run: int) -> list[T]:
    """The run's order: each side first in turn, so none always pays a cold start."""
    shift = run % len(names)
    return names[shift:] + names[:shift]
