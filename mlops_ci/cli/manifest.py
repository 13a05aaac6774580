"""``mlops-ci manifest validate|schema``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.errors import ExitStatus, ManifestError, ManifestIssue
from mlops_ci.manifest import DEFAULT_MANIFEST

if TYPE_CHECKING:
    from mlops_ci.manifest.model import Manifest


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "manifest",
        help="check manifests and print their JSON Schema",
        description="Check mlops.yaml manifests, or print the JSON Schema editors use.",
    )
    actions = group.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do with manifests"
    )
    validate = actions.add_parser(
        "validate",
        parents=[common_options(many_manifests=True)],
        help="check manifests against the schema and the semantic rules",
        description="Check each manifest and report every problem with file:line:col. "
        "Exit 0 when all are valid, 2 when any is not.",
    )
    validate.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="more manifests to check (as pre-commit passes them)",
    )
    validate.set_defaults(handler=validate_command)
    schema = actions.add_parser(
        "schema",
        help="print the manifest's JSON Schema",
        description="Print the JSON Schema (2020-12) of mlops.yaml on stdout.",
    )
    schema.set_defaults(handler=schema_command)


@dataclass(frozen=True)
class Outcome:
    """One manifest's result: the typed manifest, or the issues that stop it."""

    file: str
    manifest: Manifest | None
    issues: tuple[ManifestIssue, ...]


def validate_command(arguments: argparse.Namespace, console: Console) -> int:
    files = [*(arguments.manifest or []), *arguments.files] or [DEFAULT_MANIFEST]
    outcomes = [_check(file) for file in dict.fromkeys(files)]
    if arguments.json:
        console.out.write(json.dumps(_report(outcomes), indent=2) + "\n")
    else:
        _print_outcomes(outcomes, console)
    from mlops_ci import wiring

    ci = wiring.ci_host(console.environ, console.err)
    if ci.running():
        for outcome in outcomes:
            for issue in outcome.issues:
                ci.annotate(
                    "error", issue.message, file=issue.file, line=issue.line, column=issue.column
                )
    valid = all(outcome.manifest is not None for outcome in outcomes)
    return ExitStatus.PASSED if valid else ExitStatus.BAD_INPUT


def schema_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.manifest.schema_file import SCHEMA_FILE

    console.out.write(SCHEMA_FILE.read_text(encoding="utf-8"))
    return ExitStatus.PASSED


def _check(file: str) -> Outcome:
    try:
        return Outcome(file, load_manifest(file, display=file), ())
    except ManifestError as error:
        return Outcome(file, None, tuple(error.issues))


def _report(outcomes: Iterable[Outcome]) -> dict[str, object]:
    """The --json report; schemas/validate-report.schema.json describes it."""
    entries = [
        {
            "file": outcome.file,
            "valid": outcome.manifest is not None,
            "model": (
                {"name": outcome.manifest.model.name, "version": outcome.manifest.model.version}
                if outcome.manifest is not None
                else None
            ),
            "issues": [
                {
                    "file": issue.file,
                    "line": issue.line,
                    "column": issue.column,
                    "path": issue.path,
                    "schema_path": issue.schema_path,
                    "message": issue.message,
                }
                for issue in outcome.issues
            ],
        }
        for outcome in outcomes
    ]
    return {"valid": all(entry["valid"] for entry in entries), "manifests": entries}


def _print_outcomes(outcomes: list[Outcome], console: Console) -> None:
    problems = 0
    for outcome in outcomes:
        if outcome.manifest is not None:
            model = outcome.manifest.model
            console.out.write(f"{outcome.file}: valid ({model.name} {model.version})\n")
        for issue in outcome.issues:
            console.out.write(issue.render() + "\n")
        problems += len(outcome.issues)
    invalid = sum(1 for outcome in outcomes if outcome.manifest is None)
    if invalid:
        console.out.write(
            f"{problems} problem{'s' * (problems != 1)} in {invalid} of {len(outcomes)} "
            f"manifest{'s' * (len(outcomes) != 1)}\n"
        )
