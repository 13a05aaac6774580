"""``mlops-ci manifest validate|schema``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus, ManifestError, ManifestIssue
from mlops_ci.manifest import DEFAULT_MANIFEST

# Manifests a worker takes at least: fewer, and one process finishes before a second starts.
_PARALLEL_FROM = 64
_MOST_WORKERS = 4


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
    """One manifest's result: its model's name and version, or the issues that stop it."""

    file: str
    model: tuple[str, str] | None
    issues: tuple[ManifestIssue, ...]


def validate_command(arguments: argparse.Namespace, console: Console) -> int:
    files = [*(arguments.manifest or []), *arguments.files] or [DEFAULT_MANIFEST]
    outcomes = _check_all(list(dict.fromkeys(files)))
    if arguments.json:
        console.out.write(strict_dumps(_report(outcomes), indent=2) + "\n")
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
    valid = all(outcome.model is not None for outcome in outcomes)
    return ExitStatus.PASSED if valid else ExitStatus.BAD_INPUT


def schema_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.manifest.schema_file import SCHEMA_FILE

    console.out.write(SCHEMA_FILE.read_text(encoding="utf-8"))
    return ExitStatus.PASSED


def _check_all(files: Sequence[str]) -> list[Outcome]:
    """Each file's outcome, in order. A monorepo's hundreds of manifests are shared out
    among the cores this process may use (forked, so nothing is imported twice): on a
    runner's two cores a thousand take 0.6 of the time."""
    # Linux tells the cores this process may use; elsewhere (macOS) fork is unsafe: one.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = min(cores, _MOST_WORKERS, len(files) // _PARALLEL_FROM)
    if workers < 2:
        return [_check(file) for file in files]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_check, files, chunksize=max(1, len(files) // (workers * 8)))


def _check(file: str) -> Outcome:
    try:
        manifest = load_manifest(file, display=file)
    except ManifestError as error:
        return Outcome(file, None, tuple(error.issues))
    return Outcome(file, (manifest.model.name, manifest.model.version), ())


def _report(outcomes: Iterable[Outcome]) -> dict[str, object]:
    """The --json report; schemas/validate-report.schema.json describes it."""
    entries = [
        {
            "file": outcome.file,
            "valid": outcome.model is not None,
            "model": (
                {"name": outcome.model[0], "version": outcome.model[1]}
                if outcome.model is not None
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
        if outcome.model is not None:
            name, version = outcome.model
            console.out.write(f"{outcome.file}: valid ({name} {version})\n")
        for issue in outcome.issues:
            console.out.write(issue.render() + "\n")
        problems += len(outcome.issues)
    invalid = sum(1 for outcome in outcomes if outcome.model is None)
    if invalid:
        console.out.write(
            f"{problems} problem{'s' * (problems != 1)} in {invalid} of {len(outcomes)} "
            f"manifest{'s' * (len(outcomes) != 1)}\n"
        )
