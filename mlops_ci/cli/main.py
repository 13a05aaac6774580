"""The ``mlops-ci`` command: parse, call, render; nothing else happens here."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from mlops_ci import __version__, wiring
from mlops_ci.cli import (
    changed,
    deploy,
    image,
    manifest,
    monitor,
    prune,
    release,
    report,
    stages,
    sync,
    version,
)
from mlops_ci.cli.options import Console, apply_environment
from mlops_ci.errors import ExitStatus, MlopsCiError

Handler = Callable[[argparse.Namespace, Console], int]
_COMMAND_GROUPS = (
    manifest,
    stages,
    image,
    release,
    deploy,
    monitor,
    report,
    version,
    changed,
    sync,
    prune,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-ci",
        description="Ship machine-learning models through Git: manifest checks, stage "
        "gates, versions, images and release pull requests. Every option can "
        "also be set as MLOPS_CI_<OPTION> in the environment.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"mlops-ci {__version__}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="the command to run"
    )
    for group in _COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command and return its exit status (DESIGN.md, "The CLI")."""
    environ = os.environ if environ is None else environ
    masker = wiring.secret_masker()
    masker.add_from_environment(environ)
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    console = Console(
        out=stdout or sys.stdout,
        err=stderr or sys.stderr,
        environ=environ,
        # In Actions the runner is told too (on stderr: stdout may be --json), so it hides
        # them in output we do not control.
        add_secret=lambda secret: masker.add(
            secret, announce_to=(stderr or sys.stderr) if in_actions else None
        ),
    )
    verbose = False
    try:
        parser = build_parser()
        apply_environment(parser, environ)
        arguments = _parse(parser, argv, console)
        if isinstance(arguments, int):
            return arguments
        verbose = bool(getattr(arguments, "verbose", False))
        _configure_logging(console.err, masker, verbose)
        handler: Handler = arguments.handler
        return handler(arguments, console)
    except MlopsCiError as error:
        console.err.write(f"mlops-ci: {masker.mask(str(error))}\n")
        return error.exit_status
    except KeyboardInterrupt:
        console.err.write("mlops-ci: interrupted\n")
        return 130
    except Exception as error:  # anything else is a bug: say so, and how to report it
        if verbose:
            console.err.write(masker.mask(traceback.format_exc()))
        console.err.write(
            f"mlops-ci: internal error ({type(error).__name__}); this is a bug in mlops-ci. "
            "Run again with -v for the traceback and report it.\n"
        )
        return ExitStatus.BUG


def _parse(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, console: Console
) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status argparse chose (--help, --version, bad usage)."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = console.out, console.err
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else ExitStatus.BAD_INPUT
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _configure_logging(stream: TextIO, masker: logging.Filter, verbose: bool) -> None:
    """Warnings as sentences of the tool's; with -v, every record with its level and the
    module that wrote it (a retry, an upload)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(masker)
    shape = "%(levelname)s %(name)s: %(message)s" if verbose else "mlops-ci: warning: %(message)s"
    handler.setFormatter(logging.Formatter(shape))
    root = logging.getLogger("mlops_ci")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.propagate = False


def entry_point() -> None:
    # A short-lived process that builds many small objects (a monorepo's manifests) and
    # few cycles: collecting the young generation less often saves a fifth of the time,
    # and freezing what the imports made keeps the collector off it.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    status = main()
    # Everything is written by now (files atomically, git and MLflow as each call returns):
    # the interpreter's own shutdown, tearing down Polars, NumPy and MLflow's modules one by
    # one, would only keep the user waiting another 0.15-1 s.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`)
            stream.flush()
    logging.shutdown()
    os._exit(int(status))
