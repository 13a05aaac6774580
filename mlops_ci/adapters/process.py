"""Run a manifest's command: no shell, a timeout, output kept in a log file, and the peak
memory of the command (and what it waited for) measured by the operating system.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mlops_ci.core.commands import Command, CommandResult
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.ports import Meter

_GRACE_SECONDS = 5.0

# A process's peak memory as the kernel counts it (ru_maxrss) includes the image it had
# before exec, and a child of mlops-ci starts as a copy of mlops-ci (mlflow loaded: hundreds
# of MiB). So the command is started by this small launcher, whose own child starts small;
# the launcher reports that child's peak (KiB) on a pipe and exits with its exit code.
_LAUNCHER = """
import os, sys
report, program, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid = os.fork()
if pid == 0:
    os.close(report)
    try:
        os.execv(program, argv)
    except OSError as error:
        os.write(2, ("cannot run %s: %s\\n" % (program, error.strerror)).encode())
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(report, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


class CommandError(MlopsCiError):
    """A command that cannot start (not found, not executable)."""

    exit_status = ExitStatus.BAD_INPUT


def render(command: Command, placeholders: Mapping[str, str]) -> tuple[str, ...]:
    """The command's arguments with ``{artifacts}``-style placeholders filled in."""
    return tuple(argument.format_map(placeholders) for argument in command.argv)


def run_command(
    what: str,
    command: Command,
    *,
    placeholders: Mapping[str, str],
    cwd: Path,
    environ: Mapping[str, str],
    log: Path,
    meter: Meter | None = None,
) -> CommandResult:
    """Run ``command`` in ``cwd`` and wait for it, at most its timeout; ``meter`` is told,
    while it runs, the last line it wrote."""
    argv = render(command, placeholders)
    program = shutil.which(argv[0], path=environ.get("PATH")) if "/" not in argv[0] else argv[0]
    if program is None:
        raise CommandError(f"{what}: {argv[0]!r} is not on PATH; install it or name it in full")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + command.timeout.total_seconds()
    report, report_to = os.pipe()
    try:
        with log.open("wb") as output:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-S", "-c", _LAUNCHER, str(report_to), program, *argv],
                    cwd=cwd,
                    env=dict(environ),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(report_to,),
                )
            except OSError as error:
                raise CommandError(f"{what}: cannot start: {error.strerror}") from None
            finally:
                os.close(report_to)
            exit_code, launcher_peak = _wait(process, deadline, _watcher(log, meter))
        reported = os.read(report, 64).decode("ascii", "replace").strip()
    finally:
        os.close(report)
    peak = int(reported) * 1024 if reported.isdigit() else launcher_peak
    return CommandResult(argv, exit_code, time.monotonic() - started, peak, log, _tail(log))


class ProcessRunner:
    """The Runner port: manifest commands as child processes of this machine."""

    run = staticmethod(run_command)


def _tail(log: Path, lines: int = 15) -> str:
    """The last lines of the command's output, for a failure's message."""
    try:
        with log.open("rb") as output:
            output.seek(max(0, output.seek(0, os.SEEK_END) - 64 * 1024))
            text = output.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _watcher(log: Path, meter: Meter | None) -> Callable[[], None]:
    """Tells ``meter`` the command's last line of output, twice a second at most."""
    told_at = 0.0

    def tick() -> None:
        nonlocal told_at
        now = time.monotonic()
        if meter is None or now - told_at < 0.5:
            return
        told_at = now
        meter.update(None, _last_line(log))

    return tick


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as output:
            output.seek(max(0, output.seek(0, os.SEEK_END) - 4096))
            lines = output.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    # A progress bar of the command's own redraws with \r: its last state.
    return next((line.split("\r")[-1] for line in reversed(lines) if line.strip()), "")


def _wait(
    process: subprocess.Popen[bytes], deadline: float, tick: Callable[[], None]
) -> tuple[int | None, int]:
    """Reap the process with wait4, whose resource usage gives its peak memory; at the
    deadline, SIGTERM its whole process group, and SIGKILL after a grace period. Its end is
    seen at once through a pidfd (Linux 5.3+); elsewhere by polling."""
    exited = _exit_watch(process.pid)
    pause = 0.005
    stopped_at: float | None = None
    try:
        while True:
            tick()
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                exit_code = None if stopped_at is not None else process.returncode
                return exit_code, usage.ru_maxrss * 1024  # KiB on Linux
            now = time.monotonic()
            if stopped_at is None and now > deadline:
                _signal(process, signal.SIGTERM)
                stopped_at = now
            elif stopped_at is not None and now > stopped_at + _GRACE_SECONDS:
                _signal(process, signal.SIGKILL)
            if exited is not None:
                # Woken when it exits; at the latest for the meter, the deadline or the end
                # of the grace period.
                due = deadline if stopped_at is None else stopped_at + _GRACE_SECONDS
                select.select([exited], [], [], max(0.01, min(0.5, due - now)))
            else:
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
    finally:
        if exited is not None:
            os.close(exited)


def _exit_watch(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits, where the system has one."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _signal(process: subprocess.Popen[bytes], number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)
