"""``sync``: MLflow brought up to what git holds: the records and observations that never
reached it replayed, the live candidates it does not know registered, the state tags and
aliases moved (the stages', and each environment's on the candidate it released)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from mlops_ci.app.candidates import LIVE
from mlops_ci.app.context import Context, records_in_git
from mlops_ci.core.aliases import release_alias_targets, stage_alias_targets, tool_aliases
from mlops_ci.core.observations import same_moment
from mlops_ci.core.record_details import recorded_files
from mlops_ci.core.records import EXPIRED, StageRecord
from mlops_ci.files.artifacts import artifact_files
from mlops_ci.manifest.model import Manifest
from mlops_ci.ports import Tracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Synced:
    sent: tuple[StageRecord, ...]  # as synced, with their run ids
    already: int
    registered: tuple[str, ...]
    observations: int = 0  # observations sent
    # The bytes of model files MLflow stored of the candidates expired since the last sync,
    # deleted (by version; those it kept none of left out).
    freed: tuple[tuple[str, int], ...] = ()


def sync(context: Context, tracker: Tracker) -> Synced:
    """Safe to run again: a stage already there is found, not duplicated."""
    with records_in_git():
        return _sync(context, tracker)


def _sync(context: Context, tracker: Tracker) -> Synced:
    records = context.records()
    pending = sorted(
        (r for r in records if not r.synced), key=lambda r: (r.finished_at, r.version, r.stage)
    )
    sent = []
    freed = []
    aliased: dict[str, str] | None = None  # version to alias, asked once when first needed
    for record in pending:
        run_id = tracker.log_stage(record)
        if record.stage == EXPIRED:
            # Before it is marked: a sync stopped here frees them the next time.
            if aliased is None:
                aliased = aliased_versions(tracker, context.manifest)
            size = free_stored_model(tracker, record.version, aliased)
            if size:
                freed.append((record.version, size))
        # Marked one by one: a sync cut short keeps what it sent.
        context.store.mark_synced(record, run_id)
        sent.append(record.synced_as(run_id))
    after = context.records()
    just_sent = {r.version for r in sent}
    # A candidate built since the last sync is registered whatever became of it, as if
    # MLflow had been told when it was built; an older one only while it is live.
    registered, refused = register_unregistered(
        tracker, context.manifest, after, built_since=just_sent
    )
    for sentence in refused:
        log.warning("%s", sentence)
    mark_registered(tracker, after, just_sent | set(registered), tagged=registered)
    move_release_aliases(tracker, after, {(r.version, r.stage) for r in sent})
    observed = sync_observations(context, tracker)
    return Synced(
        tuple(sent), len(records) - len(pending), tuple(registered), observed, tuple(freed)
    )


def aliased_versions(tracker: Tracker, manifest: Manifest) -> dict[str, str]:
    """The candidates MLflow's aliases point at (version to alias): git's records say
    where the tool moved them, but anyone may move one in MLflow."""
    environments = manifest.release.environments if manifest.release else ()
    found: dict[str, str] = {}
    for alias in tool_aliases(e.name for e in environments):
        target = tracker.alias_target(alias)
        if target is not None:
            found.setdefault(target, alias)
    return found


def free_stored_model(tracker: Tracker, version: str, aliased: dict[str, str]) -> int:
    """An expired candidate's model files deleted from MLflow's artifact store, unless an
    alias points at it there: the bytes freed."""
    if version in aliased:
        log.warning(
            "%s is expired, but the MLflow alias %r points at it: its model files are kept "
            "in MLflow; move the alias and run `mlops-ci prune` again",
            version,
            aliased[version],
        )
        return 0
    return tracker.delete_stored_model(version)


def sync_observations(context: Context, tracker: Tracker) -> int:
    """The observations git keeps that MLflow lacks, logged there oldest first; those it
    has already (another machine told it) only marked. Returns how many were sent."""
    model = context.manifest.model.name
    pending = context.observations.unsynced_observations(model)
    if not pending:
        return 0
    there = [o.at for o in tracker.observations(model, len(pending) + 1000, since=pending[0].at)]
    found = [o.at for o in pending if any(same_moment(o.at, at) for at in there)]
    context.observations.mark_observations_synced(model, found)
    sent = 0
    for observation in pending:
        if observation.at in found:
            continue
        tracker.log_observation(observation)
        # Marked one by one: a sync cut short keeps what it sent.
        context.observations.mark_observations_synced(model, [observation.at])
        sent += 1
    return sent


def move_release_aliases(
    tracker: Tracker, records: Iterable[StageRecord], sent: Collection[tuple[str, str]]
) -> None:
    """Each environment's alias (``production`` for a release without one) on the candidate
    its latest publish released, when that publish is among the records just ``sent``,
    dated as the publish."""
    for target in release_alias_targets(records):
        record = target.record
        if (record.version, record.stage) not in sent:
            continue
        if tracker.model_version_of(target.version) is None:
            log.warning(
                "%s is not registered in MLflow (its files are gone?); the alias %r was not "
                "moved to it",
                target.version,
                target.alias,
            )
            continue
        tracker.move_alias(target.alias, target.version, record.finished_at)


def mark_registered(
    tracker: Tracker,
    records: Iterable[StageRecord],
    versions: set[str],
    *,
    tagged: Collection[str] = (),
) -> None:
    """The registry brought up to what the records say of ``versions``: each one's state as
    its version tag (but those just registered, ``tagged`` with it already), and the aliases
    the stages move as they go (``candidate``: the newest candidate whose build passed;
    ``validated``: the newest that passed validate), each move dated as its record."""
    records = list(records)
    newest: dict[str, StageRecord] = {}
    for record in sorted(records, key=lambda r: r.finished_at):
        newest[record.version] = record
    for version in sorted(versions.difference(tagged)):
        if version in newest:
            tracker.tag_version(version, {"mlops-ci.state": newest[version].state}, missing_ok=True)
    for target in stage_alias_targets(records):
        if target.version in versions and tracker.model_version_of(target.version):
            tracker.move_alias(target.alias, target.version, target.record.finished_at)


def register_unregistered(
    tracker: Tracker,
    manifest: Manifest,
    records: Iterable[StageRecord],
    built_since: set[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Register the live candidates MLflow does not know (built while it was down, or with
    --no-tracking, then synced): the versions registered, and a sentence for each that
    cannot be, because the artifacts folder no longer holds the files it was built with."""
    records = list(records)
    newest: dict[str, StageRecord] = {}
    for record in records:
        if record.version not in newest or record.finished_at > newest[record.version].finished_at:
            newest[record.version] = record
    builds = [
        r
        for r in records
        if r.stage == "build"
        and r.verdict == "passed"
        and (newest[r.version].state in LIVE or r.version in (built_since or set()))
    ]
    known = set(tracker.registered_candidates()) if builds else set()
    registered, refused = [], []
    folder = manifest.build.artifacts if manifest.build else None
    found: dict[str, str] | None = None  # the folder's files, hashed once when first needed
    for build in sorted(builds, key=lambda r: r.finished_at):
        if build.version in known:
            continue
        recorded = recorded_files(build)
        if found is None:
            found = {f.path: f.sha256 for f in artifact_files(folder)} if folder else {}
        if folder is None or not recorded or recorded != found:
            refused.append(
                f"{build.version} is not registered in MLflow: its files are no longer in the "
                "artifacts folder; build it again to register it"
            )
            continue
        tracker.register(
            build.version,
            build.mlflow_run_id,
            folder,
            sorted(recorded),
            {"mlops-ci.state": newest[build.version].state},
        )
        registered.append(build.version)
    return registered, refused
