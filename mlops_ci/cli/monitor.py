"""``mlops-ci monitor``: the model in production against its SLOs and its own history."""

from __future__ import annotations

import argparse
import logging

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus, UsageError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    monitor = commands.add_parser(
        "monitor",
        parents=[common_options()],
        help="check the model in production",
        description="Read the production model's metrics (monitor.source: a Prometheus "
        "endpoint or a file), hold them to monitor.slo and to the median of their last "
        "observations (monitor.regression), and log the observation to MLflow against the "
        "version in production. With GITHUB_TOKEN and GITHUB_REPOSITORY: one issue per "
        "breach kind, kept current and closed by the first clean run, and the count of "
        "issues labelled model-feedback since the release. Exit 1 on a breach.",
    )
    monitor.add_argument(
        "--source",
        metavar="URL_OR_FILE",
        help="read the metrics from here instead of monitor.source",
    )
    monitor.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the metrics endpoint (default 10)",
    )
    monitor.add_argument(
        "--no-tracking",
        action="store_true",
        help="neither read history from MLflow nor log the observation there (git keeps it "
        "either way)",
    )
    monitor.add_argument(
        "--no-issues", action="store_true", help="leave GitHub issues alone even with a token"
    )
    monitor.set_defaults(handler=monitor_command)


def monitor_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.monitor import run_monitor
    from mlops_ci.cli.deferred_sync import finish_sync, start_sync
    from mlops_ci.report.monitor import markdown, monitor_report, terminal

    if not 0 < arguments.timeout <= 600:
        raise UsageError(f"--timeout {arguments.timeout:g}: give between 0 and 600 seconds")
    manifest = load_manifest(arguments.manifest)
    environ = console.environ
    tracked = not arguments.no_tracking and wiring.tracking_configured(manifest, environ)
    # MLflow is asked only for history git lacks, and told by a sync at the end.
    context = wiring.context(
        manifest, environ, "if-present" if tracked else "off", defers_mirror=tracked
    )
    ci = wiring.ci_host(environ, console.err)
    if ci.running() and not wiring.pushes(environ):
        # The runner is thrown away after the job, and an observation not pushed with it.
        log.warning(
            "monitor keeps its history in git (refs/mlops-ci/records) and this job does not "
            "push it (MLOPS_CI_PUSH is off), so sudden changes cannot be seen across runs: "
            "give the job `contents: write` and leave MLOPS_CI_PUSH on"
        )
    github = None
    if not arguments.no_issues and wiring.has_code_host(environ):
        github = wiring.code_host(environ, console.add_secret)
    deferred = (
        start_sync(manifest, environ, console.err, in_ci=wiring.in_ci(environ)) if tracked else None
    )
    try:
        outcome = run_monitor(
            context,
            github=github,
            scraper=wiring.scraper(environ),
            timeout=arguments.timeout,
            source=arguments.source,
        )
    except BaseException:
        if deferred is not None:
            deferred.cancel()
        raise
    report = monitor_report(outcome)
    if arguments.json:
        console.out.write(strict_dumps(report, indent=2) + "\n")
    else:
        console.out.write(terminal(report))
    ci.append_summary(markdown(report))
    ci.set_outputs(
        {
            "verdict": report["verdict"],
            "breaches": ",".join(report["breaches"]),
            "feedback": str(report["feedback"]["count"]) if report["feedback"] else "",
        }
    )
    if deferred is not None:
        finish_sync(deferred, wiring.tracking_uri(manifest, environ), console.err)
    return ExitStatus.CHECK_FAILED if report["breaches"] else ExitStatus.PASSED
