"""``mlops-ci version current|next|history``."""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import TYPE_CHECKING, Any

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus

if TYPE_CHECKING:
    from mlops_ci.app.version import NextVersion
    from mlops_ci.core.history import HistoryEntry
    from mlops_ci.manifest.model import Manifest


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "version",
        help="the version in production, the next candidate, and the history",
        description="Versions from the manifest, git tags, stage records and MLflow.",
    )
    actions = group.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="which answer to give"
    )
    current = actions.add_parser(
        "current",
        parents=[common_options()],
        help="the version in production",
        description="Print model.version and whether its release tag exists.",
    )
    current.set_defaults(handler=current_command)
    upcoming = actions.add_parser(
        "next",
        parents=[common_options()],
        help="the next release candidate and why",
        description="Print the next candidate: the bump level with its reasons (signature "
        "change, Conventional Commits since the last release) and a candidate number past "
        "every one in git tags, records and MLflow.",
    )
    _tracking_option(upcoming)
    upcoming.set_defaults(handler=next_command)
    past = actions.add_parser(
        "history",
        parents=[common_options()],
        help="every release and candidate",
        description="List every release and candidate, newest first, with its state, date, "
        "commit and image digest.",
    )
    past.set_defaults(handler=history_command)


def _tracking_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-tracking",
        action="store_true",
        help="do not ask MLflow for registered candidates (git tags and records only)",
    )


def current_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.version import current_version

    manifest = load_manifest(arguments.manifest)
    current = current_version(wiring.context(manifest, console.environ, "off"))
    if arguments.json:
        _print_json(
            console,
            {
                "model": current.model,
                "version": str(current.version),
                "tag": current.tag,
                "tagged": current.tagged,
            },
        )
    else:
        note = "" if current.tagged else f" (no tag {current.tag} yet)"
        console.out.write(f"{current.model} {current.version}{note}\n")
    return ExitStatus.PASSED


def next_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.version import next_version

    manifest = load_manifest(arguments.manifest)
    planned = next_version(
        wiring.context(manifest, console.environ, "off" if arguments.no_tracking else "if-present")
    )
    if arguments.json:
        _print_json(console, _next_json(manifest, planned))
    else:
        console.out.write(f"{planned.candidate}\n")
        console.out.write(
            f"  {planned.decision.level} bump of {planned.production}, tag {planned.tag}\n"
        )
        for reason in planned.decision.reasons:
            console.out.write(f"  - {reason}\n")
    return ExitStatus.PASSED


def history_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.version import version_history

    manifest = load_manifest(arguments.manifest)
    entries = version_history(wiring.context(manifest, console.environ, "off"))
    if arguments.json:
        _print_json(
            console, {"model": manifest.model.name, "versions": [_entry_json(e) for e in entries]}
        )
        return ExitStatus.PASSED
    console.out.write(f"{'VERSION':<22} {'STATE':<10} {'DATE':<20} {'COMMIT':<8} IMAGE\n")
    for entry in entries:
        when = entry.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if entry.date else "-"
        digest = entry.image_digest[:19] if entry.image_digest else "-"
        commit = entry.commit[:7] if entry.commit else "-"
        console.out.write(
            f"{entry.version!s:<22} {entry.state:<10} {when:<20} {commit:<8} {digest}\n"
        )
    return ExitStatus.PASSED


def _next_json(manifest: Manifest, planned: NextVersion) -> dict[str, Any]:
    return {
        "model": manifest.model.name,
        "production": str(planned.production),
        "level": planned.decision.level,
        "reasons": list(planned.decision.reasons),
        "release": str(planned.release),
        "candidate": str(planned.candidate),
        "tag": planned.tag,
        "commits": [{"sha": c.sha, "subject": c.subject} for c in planned.commits],
    }


def _entry_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "version": str(entry.version),
        "state": entry.state,
        "date": entry.date.isoformat() if entry.date else None,
        "commit": entry.commit,
        "tag": entry.tag,
        "image_digest": entry.image_digest,
    }


def _print_json(console: Console, data: object) -> None:
    console.out.write(strict_dumps(data, indent=2) + "\n")
