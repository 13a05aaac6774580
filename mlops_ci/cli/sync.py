"""``mlops-ci sync``: replay the records that never reached MLflow."""

from __future__ import annotations

import argparse
import sys

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        parents=[common_options()],
        help="send MLflow the records it missed",
        description="Bring MLflow up to what git holds: replay every stage record and "
        "monitor observation not yet there (it was down, or the job ran elsewhere), register "
        "the live candidates it lacks, move the state tags and aliases (each "
        "environment's on the candidate it released), and delete the model files of the "
        "candidates prune expired. Safe to run again: what is there "
        "already is found, not duplicated.",
    )
    sync.add_argument(
        "--when-told",
        action="store_true",
        help=argparse.SUPPRESS,  # run's own: open MLflow now, sync when stdin says "go"
    )
    sync.set_defaults(handler=sync_command)


def sync_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.sync import sync
    from mlops_ci.core.units import format_size
    from mlops_ci.files.locks import held_lock

    manifest = load_manifest(arguments.manifest)
    context = wiring.context(manifest, console.environ, "off")
    tracker = wiring.tracker(manifest, console.environ)
    if arguments.when_told:
        from mlops_ci.cli.deferred_sync import GO

        # All the waiting done before it is told: MLflow imported, its store opened (made
        # and migrated if new), the queries sync makes compiled once.
        tracker.experiment_id()
        tracker.registered_candidates()
        tracker.stage_records(manifest.model.name, limit=1)
        if sys.stdin.readline() != GO:
            return ExitStatus.PASSED  # the command stopped before writing its records
    # One sync at a time on a machine: one started in the background may still be at it.
    with held_lock(context.layout.folder / "sync.lock"):
        synced = sync(context, tracker)
    sent = [
        {"version": r.version, "stage": r.stage, "run_id": r.mlflow_run_id} for r in synced.sent
    ]
    target = wiring.tracking_uri(manifest, console.environ)
    if arguments.json:
        console.out.write(
            strict_dumps(
                {
                    "model": manifest.model.name,
                    "tracking_uri": target,
                    "synced": sent,
                    "already_synced": synced.already,
                    "registered": list(synced.registered),
                    "observations_synced": synced.observations,
                    "freed": [
                        {"version": version, "mlflow_bytes": size} for version, size in synced.freed
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        observed = (
            f" and {synced.observations} observation{'s' * (synced.observations != 1)}"
            if synced.observations
            else ""
        )
        console.out.write(
            f"{manifest.model.name}: sent {len(sent)} record{'s' * (len(sent) != 1)}"
            f"{observed} to {target}; {synced.already} already there\n"
        )
        for version in synced.registered:
            console.out.write(f"{manifest.model.name}: registered {version}\n")
        for version, size in synced.freed:
            console.out.write(
                f"{manifest.model.name}: freed {format_size(size)} of {version}'s model files "
                "(expired)\n"
            )
    return ExitStatus.PASSED
