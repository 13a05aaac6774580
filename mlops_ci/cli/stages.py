"""``mlops-ci ingest|build|test|validate`` (one stage) and ``mlops-ci run`` (them in order)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.core.lifecycle import STAGES
from mlops_ci.errors import ExitStatus

if TYPE_CHECKING:
    from mlops_ci.app.lifecycle import Progress
    from mlops_ci.core.results import StageResult


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
    from mlops_ci import wiring
    from mlops_ci.app.lifecycle import run_stages, stages_until
    from mlops_ci.app.preview import checked_workspace
    from mlops_ci.cli.deferred_sync import DeferredSync, finish_sync
    from mlops_ci.cli.meters import meters_for
    from mlops_ci.report.stages import markdown, run_report, terminal

    manifest = load_manifest(arguments.manifest)
    environ = console.environ
    tracked = not arguments.no_tracking and wiring.tracking_configured(manifest, environ)
    context = checked_workspace(
        wiring.context(
            manifest,
            environ,
            "if-present" if tracked else "off",
            meters=meters_for(console.err, environ),
            defers_mirror=tracked,
        ),
        in_ci=wiring.in_ci(environ),
    )
    if context.preview is not None:
        console.err.write(f"mlops-ci: {context.preview}\n")
    stages = arguments.stages or stages_until(context, arguments.until)
    deferred = DeferredSync(manifest.path, environ) if tracked and not context.preview else None
    try:
        results = run_stages(
            context,
            stages,
            getattr(arguments, "version", None),
            keep_going=bool(getattr(arguments, "keep_going", False)),
            progress=_progress(console) if arguments.stages is None else None,
        )
    except BaseException:
        if deferred is not None:
            deferred.cancel()
        raise
    report = run_report(manifest.model.name, results)
    if arguments.json:
        console.out.write(strict_dumps(report, indent=2) + "\n")
    else:
        console.out.write(terminal(report, console.columns()))
    ci = wiring.ci_host(console.environ, console.err)
    ci.append_summary(markdown(report))
    if getattr(arguments, "pr_comment", False):
        _comment(manifest.model.name, markdown(report), console)
    ci.set_outputs(
        {
            "verdict": str(report["verdict"]),
            "version": str(report["version"] or ""),
            "state": str(report["state"] or ""),
        }
    )
    if deferred is not None:
        # After the report: the run's own outcome is shown whatever MLflow does.
        finish_sync(deferred, wiring.tracking_uri(manifest, environ), console.err)
    return ExitStatus.CHECK_FAILED if report["verdict"] == "failed" else ExitStatus.PASSED


def _progress(console: Console) -> Progress:
    """Each stage on stderr as it starts and ends, with its time: a long ``run`` is never
    silent, and a CI log shows where the minutes went."""

    def told(stage: str, result: StageResult | None, seconds: float) -> None:
        if result is None:
            console.err.write(f"mlops-ci: {stage} …\n")
        else:
            console.err.write(
                f"mlops-ci: {stage} {result.version} {result.verdict} in {seconds:.1f} s\n"
            )
        console.err.flush()

    return told


def _comment(model: str, report: str, console: Console) -> None:
    """The model's one comment on the pull request, made or updated with this report."""
    import logging

    from mlops_ci import wiring

    number = wiring.ci_host(console.environ, console.err).pull_request_number()
    if number is None:
        logging.getLogger(__name__).info("not a pull request's run: no comment")
        return
    marker = f"<!-- mlops-ci:check model={model} -->"
    github = wiring.code_host(console.environ, console.add_secret)
    url, written = github.upsert_comment(number, marker, f"{report}\n{marker}\n")
    console.err.write(f"{'commented' if written else 'comment up to date'}: {url}\n")
