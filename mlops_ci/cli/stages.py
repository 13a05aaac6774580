"""``mlops-ci ingest|build|test|validate`` (one stage) and ``mlops-ci run`` (them in order)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options
from mlops_ci.errors import ExitStatus
from mlops_ci.manifest.loader import load_manifest

if TYPE_CHECKING:
    from mlops_ci.adapters.mlflow import MlflowTracker
    from mlops_ci.manifest.model import Manifest
    from mlops_ci.stages.workspace import StageResult, Workspace

STAGES = ("ingest", "build", "test", "validate")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    descriptions = {
        "ingest": "Check every data set of the manifest (columns and types, missing and repeated "
        "values, ranges, allowed values, labels, class balance, personal data) and record its "
        "fingerprint (sha256 and schema) under the candidate its data will build.",
        "build": "Build a release candidate: number it from history, run build.command, hash "
        "every file it wrote, tag it, record it and register it in MLflow.",
        "test": "Run test.command, read the metrics file and hold it to test.gates and to the "
        "version in production (test.against_production).",
        "validate": "Measure the candidate's size, latency (validate.latency.command) and peak "
        "memory against their limits.",
    }
    for stage in STAGES:
        parser = commands.add_parser(
            stage,
            parents=[common_options()],
            help=f"run the {stage} stage",
            description=descriptions[stage] + " Exit 1 when a gate fails.",
        )
        if stage not in ("ingest", "build"):
            parser.add_argument(
                "--version",
                metavar="VERSION",
                help="the candidate (default: the one built at this commit)",
            )
        _tracking_option(parser)
        parser.set_defaults(handler=stage_command, stages=(stage,))
    run = commands.add_parser(
        "run",
        parents=[common_options()],
        help="run the lifecycle's stages in order",
        description="Ingest the data, then build, test and validate a candidate in one go, "
        "with one report. Exit 1 when a check or gate fails.",
    )
    run.add_argument(
        "--until",
        choices=STAGES,
        default="validate",
        help="the last stage to run (default: validate)",
    )
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="after a failed stage, run the rest to measure them (the candidate stays failed)",
    )
    _tracking_option(run)
    run.set_defaults(handler=stage_command, stages=None)


def _tracking_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-tracking",
        action="store_true",
        help="write records only; leave MLflow for a later `mlops-ci sync`",
    )
    parser.add_argument(
        "--pr-comment",
        action="store_true",
        help="in a pull request's workflow run, keep one comment per model with the report "
        "(updated in place; needs GITHUB_TOKEN with pull-requests: write)",
    )


def stage_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.adapters.gha import append_summary, set_outputs
    from mlops_ci.report.stages import markdown, run_report, terminal

    manifest = load_manifest(arguments.manifest)
    workspace = workspace_for(manifest, console, no_tracking=arguments.no_tracking)
    stages = arguments.stages or [
        stage
        for stage in STAGES[: STAGES.index(arguments.until) + 1]
        if stage != "ingest" or manifest.data  # a model without data sets has none to check
    ]
    keep_going = bool(getattr(arguments, "keep_going", False))
    version = getattr(arguments, "version", None)
    results: list[StageResult] = []
    for stage in stages:
        result = _run_stage(workspace, stage, version)
        results.append(result)
        version = result.version
        if result.verdict == "failed" and not keep_going:
            break
    report = run_report(manifest.model.name, results)
    if arguments.json:
        console.out.write(json.dumps(report, indent=2) + "\n")
    else:
        console.out.write(terminal(report))
    if console.environ.get("GITHUB_STEP_SUMMARY"):
        append_summary(markdown(report), console.environ)
    if getattr(arguments, "pr_comment", False):
        _comment(manifest.model.name, markdown(report), console)
    set_outputs(
        {
            "verdict": str(report["verdict"]),
            "version": str(report["version"] or ""),
            "state": str(report["state"] or ""),
        },
        console.environ,
    )
    return ExitStatus.CHECK_FAILED if report["verdict"] == "failed" else ExitStatus.PASSED


def _comment(model: str, report: str, console: Console) -> None:
    """The model's one comment on the pull request, made or updated with this report."""
    import logging

    from mlops_ci.adapters.gha import pull_request_number
    from mlops_ci.adapters.github import connect

    number = pull_request_number(console.environ)
    if number is None:
        logging.getLogger(__name__).info("not a pull request's run: no comment")
        return
    marker = f"<!-- mlops-ci:check model={model} -->"
    url, written = connect(console.environ).upsert_comment(number, marker, f"{report}\n{marker}\n")
    console.err.write(f"{'commented' if written else 'comment up to date'}: {url}\n")


def _run_stage(workspace: Workspace, stage: str, version: str | None) -> StageResult:
    from mlops_ci.stages.build import run_build
    from mlops_ci.stages.ingest import run_ingest
    from mlops_ci.stages.test import run_test
    from mlops_ci.stages.validate import run_validate

    if stage == "ingest":
        return run_ingest(workspace)
    if stage == "build":
        return run_build(workspace)
    if stage == "test":
        return run_test(workspace, version)
    return run_validate(workspace, version)


def workspace_for(manifest: Manifest, console: Console, *, no_tracking: bool) -> Workspace:
    from mlops_ci.cli import wiring
    from mlops_ci.stages.workspace import Workspace

    @cache
    def tracker() -> MlflowTracker | None:
        # Made on first use: mlflow's import is a second, and some stages never need it.
        return None if no_tracking else wiring.tracker(manifest, console.environ)

    return Workspace(
        manifest=manifest,
        environ=console.environ,
        store=wiring.record_store(manifest),
        git=wiring.git(manifest),
        tracker=tracker,
        now=lambda: datetime.now(UTC),
    )
