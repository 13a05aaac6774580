"""Which candidate a stage works on, and what production's metrics were."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from mlops_ci.app.context import Context, StageInputError
from mlops_ci.app.version import plan_next
from mlops_ci.core.drift import Profile, ProfileError, profile_from_json
from mlops_ci.core.gates import GateResult, overall
from mlops_ci.core.history import tag_name, tagged_versions
from mlops_ci.core.lifecycle import State, advance
from mlops_ci.core.production import production_test
from mlops_ci.core.record_details import DataSetFingerprint, recorded_data_sets, recorded_gates
from mlops_ci.core.records import PUBLISHED, StageRecord
from mlops_ci.core.results import StageResult
from mlops_ci.core.versions import try_parse_version
from mlops_ci.files.locks import held_lock

LIVE = ("candidate", "tested", "validated")


@contextlib.contextmanager
def claimed_candidate(context: Context, head: str | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``candidate_for_commit``, asked and answered by one job of the model at a time in
    this repository, and held until the ``with`` block has written what claims it (the
    record, the tag): a second job at once then finds the first one's candidate instead of
    numbering its own, and never empties the artifacts folder under the first one's build."""
    lock = context.layout.folder / "locks" / f"{context.manifest.model.name}.lock"
    with held_lock(lock):
        yield candidate_for_commit(context, head)


def candidate_for_commit(context: Context, head: str | None) -> tuple[str, tuple[str, ...]]:
    """The candidate number of this commit, with the reasons for it. One commit is one
    candidate: the candidate tagged on it, else the one recorded as built from it (a re-run
    runs it again under the same number), else the number its ingest took (ingest runs first
    and records the data under the candidate they will build), else the next one."""
    manifest = context.manifest
    if context.preview is not None:
        return _preview_number(context, head)
    if head is not None:
        tagged = sorted(
            version
            for version, tag in tagged_versions(
                context.vcs.tags(),
                manifest.versioning.tag,
                manifest.model.name,
                manifest.versioning.scheme,
            )
            if tag.commit == head and version.is_candidate
        )
        if tagged:
            return str(tagged[-1]), ("the candidate tagged on this commit",)
    at_head = sorted(
        (r for r in context.records() if r.git_sha == head),
        key=lambda r: r.finished_at,
        reverse=True,
    )
    built = {r.version for r in at_head if r.stage == "build"}
    for record in at_head:
        if record.stage == "build":
            return record.version, ("the candidate built from this commit",)
        if record.stage == "ingest" and record.version not in built:
            return record.version, ("the candidate whose data this commit's ingest checked",)
    # With MLflow told only at the command's end, it is asked only for a model git knows
    # nothing of (history an older mlops-ci left in MLflow alone).
    tracker = None if context.defers_mirror and context.records() else context.tracker()
    if tracker is not None and head is not None:
        # Records that never reached git (an older mlops-ci): the tracking store remembers.
        for version in tracker.built_at(manifest.model.name, head):
            return version, ("the candidate built from this commit (found in MLflow)",)
    registered = tracker.registered_candidates() if tracker is not None else []
    planned = plan_next(
        manifest, context.vcs, context.records(), registered, context.clock.now().date()
    )
    return str(planned.candidate), planned.decision.reasons


def _preview_number(context: Context, head: str | None) -> tuple[str, tuple[str, ...]]:
    """A preview's number: that of the preview built here before, else the next one; never
    the candidate of this commit."""
    model = context.manifest.model.name
    built = sorted(
        (r for r in context.scratch.records(model) if r.stage == "build" and r.git_sha == head),
        key=lambda r: r.finished_at,
    )
    if built:
        return built[-1].version, ("a preview of uncommitted changes",)
    planned = plan_next(
        context.manifest, context.vcs, context.records(), [], context.clock.now().date()
    )
    return str(planned.candidate), ("a preview of uncommitted changes", *planned.decision.reasons)


def current_candidate(context: Context, version: str | None) -> StageRecord:
    """The build record of ``version``, or of the newest live candidate built at HEAD."""
    builds = [r for r in context.records() if r.stage == "build"]
    if version is not None:
        found = [r for r in builds if r.version == version]
        if not found:
            raise StageInputError(f"{version} was never built here; run `mlops-ci build`")
        return found[0]
    head = context.vcs.head()
    here = sorted(
        (r for r in builds if r.git_sha == head and r.state != "failed"),
        key=lambda r: r.finished_at,
    )
    if not here:
        raise StageInputError(
            "no candidate is built at this commit; run `mlops-ci build` first (or pass --version)"
        )
    return here[-1]


def state_before(context: Context, version: str, stage: str, previous: str) -> State:
    """The state ``stage`` starts from: what the ``previous`` stage left, so that running a
    stage again is a fresh run of it; an expired or released candidate stays so."""
    records = {r.stage: r for r in context.records() if r.version == version}
    newest = max(records.values(), key=lambda r: r.finished_at)
    if newest.state in ("expired", "released"):
        return newest.state
    if previous not in records:
        raise StageInputError(
            f"{version} has no {previous} record; run `mlops-ci {previous}` "
            f"before `mlops-ci {stage}`"
        )
    return records[previous].state


def production_metrics(context: Context) -> tuple[str, dict[str, float]] | None:
    """The version in production and the test metrics of the candidate it was released
    from; None only before the first release. A release is known from its publish record or
    its tag (git), or MLflow's ``production`` alias; the metrics from the records of the
    candidate the publish names, else of a candidate of that release that passed its test,
    else from MLflow. A release whose metrics are nowhere gives none, so that gates against
    it fail with a reason instead of passing."""
    manifest = context.manifest
    scheme = manifest.versioning.scheme
    production = try_parse_version(manifest.model.version, scheme)
    if production is None:  # pragma: no cover - the manifest checks it
        return None
    records = context.records()
    tested = production_test(records, str(production), scheme, context.on_history)
    if tested is not None:
        return str(production), dict(tested.metrics)
    tracker = context.tracker()
    candidate = tracker.alias_target("production") if tracker is not None else None
    if tracker is not None and candidate is not None:
        metrics = tracker.stage_metrics(manifest.model.name, candidate, "test")
        return str(production), metrics or {}
    tag = tag_name(manifest.versioning.tag, manifest.model.name, production)
    published = any(r.stage == PUBLISHED and r.version == str(production) for r in records)
    if published or any(t.name == tag for t in context.vcs.tags()):
        return str(production), {}
    return None


def production_profiles(context: Context) -> tuple[str, Mapping[str, object]] | None:
    """The version in production and the profiles (by data set name, as JSON) its
    candidate's ingest recorded; None before the first release, no profiles when the
    records of its candidate hold none."""
    production = production_metrics(context)
    if production is None:
        return None
    manifest = context.manifest
    records = context.records()
    tested = production_test(records, production[0], manifest.versioning.scheme, context.on_history)
    ingested = sorted(
        (
            r
            for r in records
            if tested is not None and r.stage == "ingest" and r.version == tested.version
        ),
        key=lambda r: r.finished_at,
    )
    data = ingested[-1].details.get("data") if ingested else None
    profiles = {
        str(entry["name"]): entry["profile"]
        for entry in (data if isinstance(data, list) else [])
        if isinstance(entry, dict) and "name" in entry and "profile" in entry
    }
    return production[0], profiles


def stored_profile(
    version: str | None, profiles: Mapping[str, object], name: str
) -> Profile | None:
    """The profile of data set ``name`` among production's (``production_profiles``), read
    back as untrusted; None when its records hold none."""
    stored = profiles.get(name)
    if stored is None:
        return None
    try:
        return profile_from_json(stored, f"the ingest record of {version}")
    except ProfileError as error:
        raise StageInputError(f"{error}; run ingest again at that release's commit") from None


def candidate_evidence(
    context: Context, version: str
) -> tuple[tuple[GateResult, ...], dict[str, float], tuple[DataSetFingerprint, ...]]:
    """The gates of the latest ingest, test and validate of ``version``, its metrics
    (test's, then validate's size, latency and memory) and the data sets ingest read."""
    latest: dict[str, StageRecord] = {}
    for r in context.records():
        wanted = r.version == version and r.stage in ("ingest", "test", "validate")
        if wanted and (r.stage not in latest or r.finished_at >= latest[r.stage].finished_at):
            latest[r.stage] = r
    ordered = [latest[s] for s in ("ingest", "test", "validate") if s in latest]
    gates = tuple(g for r in ordered for g in recorded_gates(r))
    ingest = latest.get("ingest")
    return gates, _measured(ordered), recorded_data_sets(ingest) if ingest else ()


def _measured(records: Sequence[StageRecord]) -> dict[str, float]:
    """The candidate's test metrics, and its size, latency and memory from validate."""
    found: dict[str, float] = {}
    for stage in ("test", "validate"):
        for record in records:
            if record.stage == stage:
                found.update(record.metrics)
    return found


def conclude(
    context: Context,
    candidate: StageRecord,
    *,
    stage: str,
    current: State,
    target: State,
    started: datetime,
    gates: Sequence[GateResult],
    metrics: Mapping[str, float],
    details: dict[str, object],
    log: Path | None,
) -> StageResult:
    """The end of a gated stage: its verdict, the candidate's next state, the record (and
    MLflow), and the result. A failed candidate stays failed; with --keep-going a later
    stage still measures it, but it can never pass."""
    version = candidate.version
    if current == "failed":
        details.setdefault(
            "problem",
            f"{version} failed an earlier stage; a failed candidate can never be promoted",
        )
    verdict = "failed" if "problem" in details else overall(gates)
    state: State = (
        "failed"
        if current == "failed"
        else advance(version, current, target if verdict == "passed" else "failed")
    )
    details["gates"] = [gate.to_json() for gate in gates]
    context.save(
        StageRecord(
            model=context.manifest.model.name,
            version=version,
            stage=stage,
            verdict=verdict,
            state=state,
            started_at=started,
            finished_at=context.clock.now(),
            git_sha=candidate.git_sha,
            manifest_sha256=candidate.manifest_sha256,
            metrics=metrics,
            details=details,
        )
    )
    context.mark_state(version, state)
    return StageResult(stage, version, verdict, state, tuple(gates), details, log)


def latest_state(context: Context, record: StageRecord) -> State:
    """The candidate's state now: that of its newest record."""
    mine = [r for r in context.records() if r.version == record.version]
    return max(mine, key=lambda r: r.finished_at).state if mine else record.state
