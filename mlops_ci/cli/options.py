"""Options every command shares, and ``MLOPS_CI_<NAME>`` environment defaults for all of them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from mlops_ci.errors import UsageError
from mlops_ci.manifest import DEFAULT_MANIFEST

if TYPE_CHECKING:
    from pathlib import Path

    from mlops_ci.manifest.model import Manifest

ENV_PREFIX = "MLOPS_CI_"


@dataclass(frozen=True)
class Console:
    """Where a command writes: results on ``out``, logs and annotations on ``err``."""

    out: TextIO
    err: TextIO
    environ: Mapping[str, str]
    # Secrets the command comes by (a registry's token): masked in every log from then on.
    add_secret: Callable[[str], None] = lambda secret: None

    def columns(self) -> int | None:
        """The width to fit tables to: ``COLUMNS``, else the terminal's; None when ``out``
        is no terminal (a file, a pipe, a CI log), where nothing is cut."""
        text = self.environ.get("COLUMNS", "")
        if text.isdigit() and int(text) > 0:
            return int(text)
        try:
            return os.get_terminal_size(self.out.fileno()).columns if self.out.isatty() else None
        except (OSError, ValueError, AttributeError):  # a stream without a file behind it
            return None


class _AppendOverridingDefault(argparse._AppendAction):
    """Like ``action="append"``, but values on the command line replace the default
    (which may come from the environment) instead of adding to it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, None)
        super().__call__(parser, namespace, values, option_string)


def common_options(*, many_manifests: bool = False) -> argparse.ArgumentParser:
    """A parent parser with -f/--manifest, --json and -v."""
    parent = argparse.ArgumentParser(add_help=False)
    if many_manifests:
        parent.add_argument(
            "-f",
            "--manifest",
            action=_AppendOverridingDefault,
            metavar="FILE",
            help="a manifest to read; repeat for several (default: mlops.yaml; "
            f"{ENV_PREFIX}MANIFEST takes a {os.pathsep}-separated list)",
        )
    else:
        parent.add_argument(
            "-f",
            "--manifest",
            metavar="FILE",
            default=DEFAULT_MANIFEST,
            help="the manifest to read (default: mlops.yaml)",
        )
    parent.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable JSON on stdout; logs stay on stderr",
    )
    parent.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log more, and show a traceback if mlops-ci has a bug",
    )
    return parent


def environment_name(action: argparse.Action) -> str:
    return ENV_PREFIX + action.dest.upper()


def apply_environment(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Let ``MLOPS_CI_<DEST>`` set the default of every option of every command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                apply_environment(child, environ)
        elif action.option_strings and action.dest != "help":
            name = environment_name(action)
            if name in environ:
                action.default = _from_environment(action, name, environ[name])


def _from_environment(action: argparse.Action, name: str, text: str) -> object:
    if isinstance(action, argparse._StoreTrueAction):
        from mlops_ci.wiring import setting

        return setting({name: text}, name, default=False)
    if isinstance(action, argparse._AppendAction):
        return [part for part in text.split(os.pathsep) if part]
    value: object = text
    if action.type is not None and callable(action.type):
        try:
            value = action.type(text)
        except (TypeError, ValueError) as error:
            raise UsageError(f"{name}={text!r} is not valid: {error}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise UsageError(f"{name}={text!r} is not one of {choices}")
    return value


# The loader (YAML, the schema, the typed model) is imported when a command runs, never to
# build the parser: `mlops-ci --help` and a usage error import none of it.


def load_manifest(path: str | Path, *, display: str | None = None) -> Manifest:
    from mlops_ci.manifest import loader

    return loader.load_manifest(path, display=display)


def find_repository(start: Path) -> Path:
    from mlops_ci.manifest import loader

    return loader.find_repository(start)
