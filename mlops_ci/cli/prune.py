"""``mlops-ci prune``: expire candidates under ``retention.candidates``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options
from mlops_ci.errors import ExitStatus
from mlops_ci.manifest.loader import load_manifest

if TYPE_CHECKING:
    from mlops_ci.adapters.mlflow import MlflowTracker
    from mlops_ci.core.lifecycle import State
    from mlops_ci.core.retention import RetentionDecision
    from mlops_ci.manifest.model import Manifest
    from mlops_ci.stages.image import ImagePruning

ALIASES = ("candidate", "validated", "production")


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
    from mlops_ci.cli import wiring
    from mlops_ci.core.retention import plan_retention
    from mlops_ci.core.versions import parse_version
    from mlops_ci.versioning import history, production_version

    manifest = load_manifest(arguments.manifest)
    store = wiring.record_store(manifest)
    git = wiring.git(manifest)
    entries = history(manifest, git, store.records(manifest.model.name))
    tracker = None if arguments.no_tracking else wiring.tracker(manifest, console.environ)
    protected = {}
    if tracker is not None:
        aliases = (
            *ALIASES,
            *(e.name for e in (manifest.release.environments if manifest.release else ())),
        )
        for alias in aliases:
            target = tracker.alias_target(alias)
            if target is not None:
                version = parse_version(target, manifest.versioning.scheme)
                protected[version] = f"the MLflow alias {alias!r} points at it"
    now = datetime.now(UTC)
    plan = plan_retention(
        entries,
        production_version(manifest),
        keep_last=manifest.retention.keep_last,
        max_age=manifest.retention.max_age,
        now=now,
        protected=protected,
    )
    if not arguments.dry_run:
        states = {entry.version: entry.state for entry in entries}
        for decision in plan:
            if decision.expire:
                _expire(
                    manifest,
                    decision,
                    states[decision.version],
                    now=now,
                    remote=arguments.remote,
                    tracker=tracker,
                )
    images = None
    repository = _registry_repository(manifest)
    if repository and not arguments.no_registry:
        expired = {str(e.version) for e in entries if e.state == "expired"}
        expired |= {str(d.version) for d in plan if d.expire}
        images = _prune_images(repository, expired, arguments.dry_run, console)
    _report(manifest, plan, arguments, console, images)
    return ExitStatus.PASSED


def _registry_repository(manifest: Manifest) -> str | None:
    image = manifest.release.image if manifest.release else None
    if image is None or image.repository.startswith("oci:"):
        return None
    return image.repository


def _prune_images(
    repository: str, expired: set[str], dry_run: bool, console: Console
) -> ImagePruning:
    """The registry images of every expired candidate, this run's and earlier ones' (a run
    that could not reach the registry is finished by the next)."""
    from mlops_ci.stages.image import default_tools, prune_images

    tools = default_tools(console.environ, console.add_secret)
    return prune_images(repository, expired, tools, dry_run=dry_run)


def _expire(
    manifest: Manifest,
    decision: RetentionDecision,
    state: State,
    *,
    now: datetime,
    remote: str | None,
    tracker: MlflowTracker | None,
) -> None:
    """Expire one candidate: the record first (the durable truth), then git, then MLflow."""
    from mlops_ci.cli import wiring
    from mlops_ci.core.history import tag_name
    from mlops_ci.core.lifecycle import advance
    from mlops_ci.core.records import StageRecord

    version = str(decision.version)
    store = wiring.record_store(manifest)
    record = None
    if state != "failed":  # a failed candidate stays failed; only its tag goes
        record = StageRecord(
            model=manifest.model.name,
            version=version,
            stage="expire",
            verdict="passed",
            state=advance(version, state, "expired"),
            started_at=now,
            finished_at=now,
            details={"reason": decision.reason},
        )
        store.write(record)
    tag = tag_name(manifest.versioning.tag, manifest.model.name, version)
    git = wiring.git(manifest)
    if any(t.name == tag for t in git.tags()):
        git.delete_tag(tag)
    if remote:
        git.run("push", remote, f":refs/tags/{tag}")
    if tracker is not None:
        tracker.tag_version(version, {"mlops-ci.state": "expired"}, missing_ok=True)
        if record is not None:
            run_id = tracker.log_stage(record)
            store.update(record.model, version, "expire", lambda r: r.synced_as(run_id))


def _report(
    manifest: Manifest,
    plan: list[RetentionDecision],
    arguments: argparse.Namespace,
    console: Console,
    images: ImagePruning | None,
) -> None:
    expiring = [d for d in plan if d.expire]
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
    if images is not None and images.deletes_refused:
        console.out.write(
            "the registry does not allow deletes; enable them (distribution: "
            "storage.delete.enabled) or delete the expired tags there\n"
        )
    what = "would expire" if arguments.dry_run else "expired"
    console.out.write(
        f"{manifest.model.name}: {len(expiring)} candidate"
        f"{'s' * (len(expiring) != 1)} {what}, {len(plan) - len(expiring)} kept\n"
    )
