"""``mlops-ci sync``: replay the records that never reached MLflow."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options
from mlops_ci.errors import ExitStatus
from mlops_ci.manifest.loader import load_manifest
from mlops_ci.stages.build import register_unregistered

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mlops_ci.core.records import StageRecord


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        parents=[common_options()],
        help="send MLflow the records it missed",
        description="Replay every stage record not yet in MLflow (it was down, or the job "
        "ran elsewhere). Safe to run again: a stage already there is found, not duplicated.",
    )
    sync.set_defaults(handler=sync_command)


def _synced_as(run_id: str) -> Callable[[StageRecord], StageRecord]:
    return lambda record: record.synced_as(run_id)


def sync_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.adapters.mlflow import redact_uri
    from mlops_ci.cli import wiring

    manifest = load_manifest(arguments.manifest)
    store = wiring.record_store(manifest)
    pending = sorted(
        (r for r in store.records(manifest.model.name) if not r.synced),
        key=lambda r: (r.finished_at, r.version, r.stage),
    )
    already = sum(1 for r in store.records(manifest.model.name) if r.synced)
    sent = []
    tracker = wiring.tracker(manifest, console.environ)
    for record in pending:
        run_id = tracker.log_stage(record)
        # Marked one by one: a sync cut short keeps what it sent.
        store.update(record.model, record.version, record.stage, _synced_as(run_id))
        sent.append({"version": record.version, "stage": record.stage, "run_id": run_id})
    registered, refused = register_unregistered(
        tracker, manifest, store.records(manifest.model.name)
    )
    for sentence in refused:
        log.warning("%s", sentence)
    target = redact_uri(wiring.tracking_target(manifest, console.environ).uri)
    if arguments.json:
        console.out.write(
            json.dumps(
                {
                    "model": manifest.model.name,
                    "tracking_uri": target,
                    "synced": sent,
                    "already_synced": already,
                    "registered": registered,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        console.out.write(
            f"{manifest.model.name}: sent {len(sent)} record"
            f"{'s' * (len(sent) != 1)} to {target}; {already} already there\n"
        )
        for version in registered:
            console.out.write(f"{manifest.model.name}: registered {version}\n")
    return ExitStatus.PASSED
