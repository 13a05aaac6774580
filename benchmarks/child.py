"""What the benchmarks share: a measurement in a process of its own, and its peak memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
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


def differences(ours: list[float], theirs: list[float]) -> list[float]:
    """Each run's ours - theirs, the two measured side by side in that run: what ours adds."""
    return [a - b for a, b in zip(ours, theirs, strict=True)]


def rotated(names: list[T], run: int) -> list[T]:
    """The run's order: each side first in turn, so none always pays a cold start."""
    shift = run % len(names)
    return names[shift:] + names[:shift]


def timed(
    argv: list[str],
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    expect: tuple[int, ...] = (0,),
) -> tuple[float, float]:
    """One command's wall time and CPU time: its processes' and their children's (git's
    included), not a daemon's it talks to (dockerd's, an MLflow server's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=None if environ is None else dict(environ), capture_output=True,
        check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode not in expect:
        raise SystemExit(
            f"{' '.join(argv[:4])} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(
    commands: Mapping[str, Any], runs: int, cold: dict[str, float] | None = None
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of every command, once a run, each first in turn, after an
    uncounted round (the page cache, the interpreters' first imports), whose wall times
    go to ``cold`` when given, to be shown apart. A command is ``timed``'s arguments:
    ``argv``, or ``(argv, cwd)``, ``(argv, cwd, environ)``, ``(argv, cwd, environ,
    expect)``."""
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name in rotated(list(commands), run):
            command = commands[name]
            seconds, used = timed(*command) if isinstance(command, tuple) else timed(command)
            if run:
                wall[name].append(seconds)
                cpu[name].append(used)
            elif cold is not None:
                cold[name] = seconds
    return wall, cpu


def cpu_now() -> float:
    """CPU seconds so far of this process and of its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def group_cpu_seconds(group: int) -> float:
    """CPU seconds so far of every live process of process group ``group`` (a server and
    its workers), read from /proc: a server's work is not its client's."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone between the listing and the read
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks
