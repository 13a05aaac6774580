"""``mlops-ci report``: the dashboard of a model, or of every model in the repository."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from mlops_ci.manifest.model import Manifest


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        parents=[common_options()],
        help="the dashboard: versions, metrics, gates and production over time",
        description="Gather a model's history from its records and MLflow (candidates and "
        "their states, key metrics, latency and size over versions, gate pass rates, "
        "production against the current candidate, observations and SLO breaches) and "
        "write it as one self-contained HTML file (inline SVG, opens offline), Markdown "
        "with Mermaid charts, or JSON.",
    )
    report.add_argument(
        "--format", choices=("html", "md", "json"), default="html", help="default: html"
    )
    report.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write here (atomically) instead of standard output",
    )
    report.add_argument(
        "--all",
        action="store_true",
        help="every model whose mlops.yaml git tracks in this repository, in one report",
    )
    report.add_argument(
        "--no-tracking", action="store_true", help="from the records only, without MLflow"
    )
    report.add_argument(
        "--observations",
        type=int,
        default=5000,
        metavar="N",
        help="the latest N observations in production per model (default 5000)",
    )
    report.set_defaults(handler=report_command)


def report_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.report import gather_history
    from mlops_ci.files.atomic import write_atomically
    from mlops_ci.report.dashboard import html, to_json
    from mlops_ci.report.dashboard_markdown import markdown

    if arguments.observations < 0:
        raise UsageError("--observations must be 0 or more")
    tracking: wiring.Tracking = "off" if arguments.no_tracking else "on"
    histories = [
        gather_history(context, arguments.observations)
        for context in wiring.contexts(_manifests(arguments), console.environ, tracking)
    ]
    generated = datetime.now(UTC)
    if arguments.format == "html":
        title = (
            f"{histories[0].model}: model dashboard"
            if len(histories) == 1
            else f"{len(histories)} models: dashboard"
        )
        text = html(histories, generated, title)
    elif arguments.format == "md":
        text = markdown(histories)
    else:
        # Indented for a person at a terminal; compact for files and pipes, where a
        # repository's report runs to megabytes (and the C encoder does no indenting).
        readable = not arguments.output and console.out.isatty()
        text = strict_dumps(to_json(histories, generated), indent=2 if readable else None) + "\n"
    if arguments.output:
        write_atomically(Path(arguments.output), text.encode("utf-8"))
        console.err.write(f"mlops-ci: wrote {arguments.output} ({len(text.encode()):,} bytes)\n")
    else:
        console.out.write(text)
    return ExitStatus.PASSED


def _manifests(arguments: argparse.Namespace) -> list[Manifest]:
    if not arguments.all:
        return [load_manifest(arguments.manifest)]
    from mlops_ci import wiring
    from mlops_ci.manifest.loader import find_repository

    repository = find_repository(Path.cwd()).resolve()
    found = wiring.vcs(repository).tracked_manifests()
    if not found:
        raise UsageError(f"no mlops.yaml is tracked in {repository}")
    return [load_manifest(path) for path in found]
