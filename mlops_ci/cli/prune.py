"""``mlops-ci prune``: expire candidates under ``retention.candidates``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options
from mlops_ci.errors import ExitStatus
from mlops_ci.manifest.loader import load_manifest

if TYPE_CHECKING:
    from mlops_ci.app.prune import Pruned
    from mlops_ci.manifest.model import Manifest


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prune = commands.add_parser(
        "prune",
        parents=[common_options()],
        help="expire old candidates (retention.candidates)",
        description="Expire candidates older than max_age or beyond the keep_last newest: "
        "write an expire record, delete their git tags and mark them in MLflow. The version "
        "in production and any version an MLflow alias points at are kept.",
    )
    prune.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    prune.add_argument(
        "--remote", metavar="NAME", help="also delete the tags from this git remote (e.g. origin)"
    )
    prune.add_argument(
        "--no-tracking",
        action="store_true",
        help="do not ask MLflow or mark expired versions there",
    )
    prune.add_argument(
        "--no-registry",
        action="store_true",
        help="leave the expired candidates' images in the registry (release.image.repository)",
    )
    prune.set_defaults(handler=prune_command)


def prune_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.prune import prune

    manifest = load_manifest(arguments.manifest)
    context = wiring.context(manifest, console.environ, "off" if arguments.no_tracking else "on")
    tools = (
        None if arguments.no_registry else wiring.image_tools(console.environ, console.add_secret)
    )
    pruned = prune(context, dry_run=arguments.dry_run, remote=arguments.remote, tools=tools)
    _report(manifest, pruned, arguments, console)
    return ExitStatus.PASSED


def _report(
    manifest: Manifest, pruned: Pruned, arguments: argparse.Namespace, console: Console
) -> None:
    from mlops_ci.core.units import format_size

    plan, images = list(pruned.plan), pruned.images
    expiring = [d for d in plan if d.expire]
    mlflow = sum(f.mlflow for f in pruned.freed)
    local = sum(f.local for f in pruned.freed)
    registry = images.freed if images is not None else 0
    image_lines = []
    if images is not None:
        for image in images.decisions:
            done = (
                "deleted"
                if image.tag in images.deleted
                else ("would delete" if image.delete else image.reason)
            )
            image_lines.append({"tag": image.tag, "digest": image.digest, "outcome": done})
    if arguments.json:
        console.out.write(
            json.dumps(
                {
                    "model": manifest.model.name,
                    "dry_run": arguments.dry_run,
                    "decisions": [
                        {"version": str(d.version), "expire": d.expire, "reason": d.reason}
                        for d in plan
                    ],
                    "images": image_lines,
                    "registry_refused_deletes": bool(images and images.deletes_refused),
                    "freed": [
                        {"version": f.version, "mlflow_bytes": f.mlflow, "local_bytes": f.local}
                        for f in pruned.freed
                    ],
                    "freed_bytes": {"mlflow": mlflow, "local": local, "registry": registry},
                },
                indent=2,
            )
            + "\n"
        )
        return
    for decision in plan:
        verb = "expire" if decision.expire else "keep  "
        console.out.write(f"{verb} {decision.version}: {decision.reason}\n")
    for line in image_lines:
        console.out.write(f"image {line['tag']}: {line['outcome']}\n")
    verb = "would free" if arguments.dry_run else "freed"
    for freed in pruned.freed:
        parts = [f"{format_size(freed.mlflow)} of model files in MLflow"] if freed.mlflow else []
        if freed.local:
            parts.append(f"{format_size(freed.local)} of logs and image state")
        console.out.write(f"{verb} {freed.version}: {', '.join(parts)}\n")
    if images is not None and images.deletes_refused:
        console.out.write(
            "the registry does not allow deletes; enable them (distribution: "
            "storage.delete.enabled) or delete the expired tags there\n"
        )
    what = "would expire" if arguments.dry_run else "expired"
    total = mlflow + local + registry
    where = [
        f"{format_size(size)} {name}"
        for size, name in (
            (mlflow, "in MLflow"),
            (local, "in .mlops-ci"),
            (registry, "in the registry, when it collects its garbage"),
        )
        if size
    ]
    console.out.write(
        f"{manifest.model.name}: {len(expiring)} candidate"
        f"{'s' * (len(expiring) != 1)} {what}, {len(plan) - len(expiring)} kept"
        + (f"; {verb} {format_size(total)} ({', '.join(where)})" if total else "")
        + "\n"
    )
