"""MLflow told at a command's end by a sync started with it: the sync process imports MLflow
and opens its store (seconds) while the command works, then waits; told to go, it replays
what the command wrote to git. So MLflow costs the command its writes, not its start-up.

A short command (``monitor``, ``release publish``) would still wait seconds for that
start-up, so at a terminal it lets the sync finish in the background instead, its output in
``.mlops-ci/sync.log``: git holds everything already, and a sync that fails is caught up by
the next one. In CI and scripts (no terminal) every command waits, and says when MLflow
could not be told: a runner is thrown away, with any process still running on it.
``MLOPS_CI_SYNC=wait|background`` chooses either way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, TextIO

from mlops_ci.app.layout import Layout
from mlops_ci.errors import ExitStatus, ServiceError, UsageError
from mlops_ci.manifest.model import Manifest

GO = "go\n"  # what the sync waits for on its standard input
_WAIT_SECONDS = 600
_MODES = ("wait", "background")


class DeferredSync:
    def __init__(
        self, manifest: Path, environ: Mapping[str, str], *, log: Path | None = None
    ) -> None:
        """With ``log``, a sync that outlives the command: in a session of its own (a
        Ctrl-C at the terminal is not for it), its output appended to ``log``. Without, one
        the command waits for, its answer (sync's ``--json``) read."""
        self.log = log
        errors: IO[str] | int = subprocess.PIPE
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            errors = log.open("a", encoding="utf-8")
        argv = [sys.executable, "-m", "mlops_ci", "sync", "--when-told", "-f", str(manifest)]
        try:
            self.process = subprocess.Popen(
                argv if log is not None else [*argv, "--json"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL if log is not None else subprocess.PIPE,
                stderr=errors,
                env=dict(environ),
                text=True,
                start_new_session=log is not None,
            )
        finally:
            if not isinstance(errors, int):
                errors.close()  # the sync has its own copy

    def finish(self) -> tuple[int, str, str]:
        """Tells it to go and waits: its exit status, its answer and what it said on
        stderr."""
        return self._end(GO)

    def let_go(self) -> None:
        """Tells it to go and leaves it to finish on its own."""
        stdin = self.process.stdin
        if stdin is None:  # pragma: no cover - made with a pipe
            return
        try:
            stdin.write(GO)
            stdin.close()
        except BrokenPipeError:  # it had ended already (its log says why)
            pass

    def cancel(self) -> None:
        """Ends it without a sync (the command failed before its records were written)."""
        self._end("")

    def _end(self, told: str) -> tuple[int, str, str]:
        try:
            out, err = self.process.communicate(told, timeout=_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        except BrokenPipeError:  # it had ended already (it says why on stderr)
            out = self.process.stdout.read() if self.process.stdout else ""
            err = self.process.stderr.read() if self.process.stderr else ""
            self.process.wait()
        return self.process.returncode, out or "", err or ""


def start_sync(
    manifest: Manifest, environ: Mapping[str, str], stream: TextIO, *, in_ci: bool
) -> DeferredSync:
    """The sync of a short command: in the background at a terminal outside CI (or as
    ``MLOPS_CI_SYNC`` says), else one the command waits for."""
    mode = environ.get("MLOPS_CI_SYNC", "").strip().lower()
    if mode and mode not in _MODES:
        raise UsageError(f"MLOPS_CI_SYNC={environ['MLOPS_CI_SYNC']!r}: use wait or background")
    if not mode:
        mode = "background" if stream.isatty() and not in_ci else "wait"
    log = Layout(manifest.repository).folder / "sync.log" if mode == "background" else None
    return DeferredSync(manifest.path, environ, log=log)


def finish_sync(deferred: DeferredSync, where: str, stream: TextIO) -> dict[str, Any] | None:
    """The sync told to go; waited for unless it runs in the background: then its answer
    (what ``sync --json`` prints), else None. ``where`` names MLflow for a message (no
    password)."""
    if deferred.log is not None:
        deferred.let_go()
        stream.write(f"mlops-ci: MLflow is told in the background (its log: {deferred.log})\n")
        return None
    synced, answer, said = deferred.finish()
    stream.write(said)  # its warnings, if any (a candidate it could not register)
    if synced != ExitStatus.PASSED:
        raise ServiceError(
            f"MLflow at {where} was not told of this command's records (above); they are "
            "in git: run `mlops-ci sync` when it is back"
        )
    try:
        parsed = json.loads(answer)
    except ValueError:  # pragma: no cover - sync --json prints JSON
        return {}
    return parsed if isinstance(parsed, dict) else {}
