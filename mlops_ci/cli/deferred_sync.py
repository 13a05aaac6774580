"""MLflow told at a command's end by a sync started with it: the sync process imports MLflow
and opens its store (seconds) while the stages run, then waits; told to go, it replays the
records the stages wrote to git. So MLflow costs the command its writes, not its start-up.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

GO = "go\n"  # what the sync waits for on its standard input
_WAIT_SECONDS = 600


class DeferredSync:
    def __init__(self, manifest: Path, environ: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlops_ci", "sync", "--when-told", "-f", str(manifest)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(environ),
            text=True,
        )

    def finish(self) -> tuple[int, str]:
        """Tells it to go and waits: its exit status and what it said on stderr."""
        return self._end(GO)

    def cancel(self) -> None:
        """Ends it without a sync (the command failed before its records were written)."""
        self._end("")

    def _end(self, told: str) -> tuple[int, str]:
        try:
            _, err = self.process.communicate(told, timeout=_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        except BrokenPipeError:  # it had ended already (it says why on stderr)
            err = self.process.stderr.read() if self.process.stderr else ""
            self.process.wait()
        return self.process.returncode, err
