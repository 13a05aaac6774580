"""``mlops-ci prune``: expire candidates under ``retention.candidates``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus

if TYPE_CHECKING:
    from mlops_ci.app.prune import Pruned
    from mlops_ci.manifest.model import Manifest


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prune = commands.add_parser(
        "prune",
        parents=[common_options()],
        help="expire old candidates (retention.candidates)",
        description="Expire candidates older than max_age or beyond the keep_last newest: "
        "write an expire record, delete their git tags, their logs under .mlops-ci and their "
        "registry images; a sync then marks them in MLflow and deletes their model files "
        "there. The version in production and any candidate an alias points at are kept.",
    )
    prune.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    prune.add_argument(
        "--remote", metavar="NAME", help="also delete the tags from this git remote (e.g. origin)"
    )
    prune.add_argument(
        "--no-tracking",
        action="store_true",
        help="leave MLflow alone (the next `mlops-ci sync` tells it)",
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
    from mlops_ci.cli.deferred_sync import finish_sync, start_sync

    manifest = load_manifest(arguments.manifest)
    environ = console.environ
    tracked = not arguments.no_tracking and wiring.tracking_configured(manifest, environ)
    # MLflow is told by a sync at the end: the expire records, the model files they free.
    context = wiring.context(manifest, environ, "off", defers_mirror=tracked)
    tools = None if arguments.no_registry else wiring.image_tools(environ, console.add_secret)
    deferred = (
        start_sync(manifest, environ, console.err, in_ci=wiring.in_ci(environ))
        if tracked and not arguments.dry_run
        else None
    )
    try:
        pruned = prune(
            context,
            dry_run=arguments.dry_run,
            remote=arguments.remote,
            tools=tools,
            tracked=tracked,
        )
    except BaseException:
        if deferred is not None:
            deferred.cancel()
        raise
    if deferred is None or deferred.log is not None:
        # MLflow's figures are what the builds recorded: the sync frees them afterwards.
        _report(manifest, pruned, arguments, console, mlflow_pending=deferred is not None)
        if deferred is not None:
            finish_sync(deferred, wiring.tracking_uri(manifest, environ), console.err)
        return ExitStatus.PASSED
    answer = finish_sync(deferred, wiring.tracking_uri(manifest, environ), console.err) or {}
    _report(manifest, _freed_by_sync(pruned, answer), arguments, console, mlflow_pending=False)
    return ExitStatus.PASSED


def _freed_by_sync(pruned: Pruned, answer: dict[str, Any]) -> Pruned:
    """``pruned`` with the MLflow bytes the sync says it freed (``sync --json``'s
    ``freed``) in place of those the builds recorded."""
    from mlops_ci.app.prune import Freed

    there = {
        str(entry.get("version")): entry.get("mlflow_bytes")
        for entry in answer.get("freed") or []
        if isinstance(entry, dict)
    }
    local = {f.version: f.local for f in pruned.freed}
    freed = []
    for version in sorted(set(local) | set(there)):
        size = there.get(version)
        mlflow = size if isinstance(size, int) and size > 0 else 0
        if mlflow or local.get(version):
            freed.append(Freed(version, mlflow, local.get(version, 0)))
    return replace(pruned, freed=tuple(freed))


def _report(
    manifest: Manifest,
    pruned: Pruned,
    arguments: argparse.Namespace,
    console: Console,
    *,
    mlflow_pending: bool,
) -> None:
    """``mlflow_pending``: the sync frees MLflow's bytes in the background, after this."""
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
            strict_dumps(
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
                    "mlflow_freed_in_background": mlflow_pending,
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
    later = " (freed in the background)" if mlflow_pending else ""
    for freed in pruned.freed:
        parts = [f"{format_size(freed.mlflow)} of model files in MLflow{later}"] * bool(
            freed.mlflow
        )
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
            (mlflow, f"in MLflow{later}"),
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
