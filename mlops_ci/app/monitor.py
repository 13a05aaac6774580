"""The model in production, watched: its metrics read from ``monitor.source``, held to
``monitor.slo`` and to their own recent history, kept in git (and MLflow), breaches raised
as CodeHost issues (one per model and kind, updated, closed by the next clean run), feedback
counted."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from mlops_ci.app.candidates import production_profiles, stored_profile
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.core.drift import ColumnProfile, Profile, drift_gates, histogram_column
from mlops_ci.core.exposition import (
    MAX_BYTES,
    ExpositionError,
    canonical_series,
    histogram_buckets,
    parse_exposition,
    shown_url,
)
from mlops_ci.core.gates import GateResult, flatten_metrics
from mlops_ci.core.history import tag_name
from mlops_ci.core.monitor import (
    BREACH_KINDS,
    BreachKind,
    Feedback,
    IssueAction,
    MonitorOutcome,
    MonitorResult,
    evaluate,
    watched,
)
from mlops_ci.core.observations import Observation, metric_key
from mlops_ci.manifest.model import DataSet, Monitor, MonitorDrift
from mlops_ci.ports import CodeHost, Scraper

MONITOR_LABEL = "mlops-ci-monitor"
FEEDBACK_LABEL = "model-feedback"
MARKER = "<!-- mlops-ci:monitor"
TITLES: Mapping[BreachKind, str] = {
    "slo": "breaches its service level objectives",
    "sudden-change": "changed suddenly in production",
    "drift": "sees data unlike its training data",
}


@dataclass(frozen=True)
class Source:
    shown: str  # where the metrics came from, fit for a message
    values: dict[str, float]  # every series there
    cumulative: frozenset[str] = frozenset()  # the running totals among them


def read_source(
    monitor: Monitor, scraper: Scraper, timeout: float, override: str | None = None
) -> Source:
    where = override or monitor.source.prometheus
    if where is not None and where.startswith(("http://", "https://")):
        shown = shown_url(where)
        return _exposition(scraper.scrape(where, timeout), shown)
    path = Path(where) if where is not None else monitor.source.file
    if path is None:  # pragma: no cover - the schema asks for one of the two
        raise StageInputError("monitor.source names neither a prometheus URL nor a file")
    return _read_file(path)


def _exposition(text: str, shown: str) -> Source:
    series = parse_exposition(text, shown)
    return Source(
        shown,
        {s.key: s.value for s in series},
        frozenset(s.key for s in series if s.cumulative),
    )


def _read_file(path: Path) -> Source:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise StageInputError(
            f"{path}: cannot read the metrics file ({error.strerror or error}); check "
            "monitor.source.file"
        ) from None
    if len(raw) > MAX_BYTES:
        raise StageInputError(f"{path}: larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StageInputError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() != ".json":  # a Prometheus text file (node_exporter's textfile)
        return _exposition(text, str(path))
    try:
        data = json.loads(text)
    except ValueError as error:
        raise StageInputError(f"{path}: not JSON ({error}); fix the file") from None
    if not isinstance(data, dict):
        raise StageInputError(f"{path}: a metrics file holds an object of name to number")
    return Source(str(path), flatten_metrics(data))


def run_monitor(
    context: Context,
    *,
    github: CodeHost | None,
    scraper: Scraper,
    timeout: float = 10.0,
    source: str | None = None,
) -> MonitorOutcome:
    manifest = context.manifest
    monitor = manifest.monitor
    if monitor is None:
        raise StageInputError(
            f"{manifest.path}: the manifest has no monitor section; add monitor.source"
        )
    at = context.clock.now()
    read = read_source(monitor, scraper, timeout, source)
    shown = read.shown
    try:
        slo = tuple((canonical_series(name), bounds) for name, bounds in monitor.slo)
        metrics = [canonical_series(name) for name in monitor.metrics]
    except ExpositionError as error:  # pragma: no cover - the schema's pattern checks it
        raise StageInputError(f"{manifest.path}: monitor: {error}") from None
    observed = watched(read.values, (name for name, _ in slo), metrics, read.cumulative)
    earlier = earlier_observations(context, monitor.regression.window)
    history = [
        {name: o.metrics[metric_key(name)] for name in observed if metric_key(name) in o.metrics}
        for o in earlier
    ]
    result = evaluate(observed, slo, history, monitor.regression)
    if monitor.drift is not None:
        result = replace(result, drift=tuple(_drift(context, monitor.drift, read)))
    version = manifest.model.version
    observation = Observation(
        manifest.model.name,
        version,
        at,
        observed,
        {str(kind): sentences for kind, sentences in result.breaches.items()},
    )
    # Git first, as for records: it is what the next run on a fresh runner reads.
    context.observations.add_observation(observation)
    run_id = None
    tracker = context.tracker_to_tell()  # or told by the sync at the end
    if tracker is not None:
        run_id = tracker.log_observation(observation)
        context.observations.mark_observations_synced(observation.model, [at])
    actions: tuple[IssueAction, ...] = ()
    feedback = None
    if github is not None:
        actions = tuple(
            _raise_or_close(
                github,
                model=manifest.model.name,
                version=version,
                at=at,
                result=result,
                source=shown,
            )
        )
        feedback = _feedback(context, github)
    return MonitorOutcome(
        manifest.model.name, version, shown, at, result, len(earlier), run_id, actions, feedback
    )


def _drift(context: Context, drift: MonitorDrift, read: Source) -> list[GateResult]:
    """production's features (a sample file, or histograms among the series read) held to
    the profile of the training data production's candidate was ingested with."""
    manifest = context.manifest
    name = drift.data or (manifest.data[0].name if manifest.data else None)
    data_set = next((d for d in manifest.data if d.name == name), None)
    if name is None or data_set is None:
        raise StageInputError(
            f"{manifest.path}: monitor.drift.data names no data set of data[]"
            + (f" ({name!r})" if name else "; add the training data set to data[]")
        )
    production = production_profiles(context)
    version, profiles = production if production is not None else (None, {})
    reference = stored_profile(version, profiles, name)
    current = _production_profile(drift, data_set, read, reference, context)
    return drift_gates(f"production {name}", drift.limits, current, reference, version)


def _production_profile(
    drift: MonitorDrift,
    data_set: DataSet,
    read: Source,
    reference: Profile | None,
    context: Context,
) -> Profile:
    """The sample file's profile, with each histogram's column added (or in its place)."""
    columns: dict[str, ColumnProfile] = {}
    rows = 0
    if drift.sample is not None:
        from mlops_ci.data.profile import profile_file

        shown = drift.sample.relative_to(context.manifest.repository).as_posix()
        sampled = profile_file(drift.sample, shown, dict(data_set.checks.columns))
        columns.update(sampled.columns)
        rows = sampled.rows
    for column, metric in drift.histograms:
        buckets = histogram_buckets(read.values, metric)
        if not buckets:
            raise StageInputError(
                f"{read.shown} has no histogram {metric}_bucket (monitor.drift.histograms."
                f"{column}); export one with le labels, or fix the name"
            )
        before = reference.columns.get(column) if reference is not None else None
        if reference is not None and before is None:
            raise StageInputError(
                f"{context.manifest.path}: monitor.drift.histograms.{column}: the training "
                f"data {data_set.name!r} have no column {column!r}; name one of its columns"
            )
        low = before.quantiles[0] if before is not None and before.quantiles else -math.inf
        made = histogram_column(buckets, low)
        if made is not None:
            columns[column] = made
    return Profile(rows=rows, sampled=rows, columns=columns)


def earlier_observations(
    context: Context, limit: int, *, ask_mlflow: bool = True
) -> list[Observation]:
    """The latest ``limit`` observations of the model, newest first: git's, or (with
    ``ask_mlflow``) MLflow's where git has none yet (a store an mlops-ci before records in
    git wrote)."""
    name = context.manifest.model.name
    found = context.observations.observations(name, limit)
    if found or limit <= 0 or not ask_mlflow:
        return found
    tracker = context.tracker()
    return tracker.observations(name, limit) if tracker is not None else []


def _raise_or_close(
    github: CodeHost,
    *,
    model: str,
    version: str,
    at: datetime,
    result: MonitorResult,
    source: str,
) -> list[IssueAction]:
    """One open issue per model and breach kind while it lasts: opened once, its body kept
    current, closed with a comment by the first run without that breach."""
    open_issues = github.issues(MONITOR_LABEL)
    breaches = result.breaches
    actions = []
    for kind in BREACH_KINDS:
        marker = f"{MARKER} model={model} kind={kind} -->"
        found = next((i for i in open_issues if marker in i.body), None)
        sentences = breaches.get(kind)
        if sentences:
            body = issue_body(model, version, kind, sentences, source=source, marker=marker)
            if found is None:
                made = github.open_issue(
                    f"{model} {TITLES[kind]}", body, [MONITOR_LABEL, kind], marker
                )
                actions.append(IssueAction(kind, made.number, made.url, "opened"))
            elif found.body.strip() != body.strip():
                github.edit_issue(found.number, body=body)
                actions.append(IssueAction(kind, found.number, found.url, "updated"))
            else:
                actions.append(IssueAction(kind, found.number, found.url, "unchanged"))
        elif found is not None:
            github.comment(
                found.number,
                f"{model} {version} is back within bounds at {at:%Y-%m-%d %H:%M} UTC "
                f"({source}); closing.",
            )
            github.edit_issue(found.number, close=True)
            actions.append(IssueAction(kind, found.number, found.url, "closed"))
    return actions


def issue_body(
    model: str,
    version: str,
    kind: BreachKind,
    sentences: Sequence[str],
    *,
    source: str,
    marker: str,
) -> str:
    lines = [
        f"**{model} {version} {TITLES[kind]}**, as read from `{source}`:",
        "",
        # As code: series names and label values come from the endpoint, and must not
        # mention people or link anywhere in an issue.
        *(f"- `{sentence.replace('`', chr(39))[:500]}`" for sentence in sentences),
        "",
        "mlops-ci keeps this issue up to date on each `mlops-ci monitor` run and closes it "
        "when a run finds no such breach.",
        "",
        marker,
    ]
    return "\n".join(lines) + "\n"


def _feedback(context: Context, github: CodeHost) -> Feedback:
    """Issues labelled model-feedback that name the model, opened since the version in
    production was released (its tag's date; all of them when it has no tag here)."""
    manifest = context.manifest
    name = tag_name(manifest.versioning.tag, manifest.model.name, manifest.model.version)
    released = next((t.date for t in context.vcs.tags() if t.name == name), None)
    model = manifest.model.name.lower()
    found = [
        issue
        for issue in github.issues(FEEDBACK_LABEL, state="all", since=released)
        if model in f"{issue.title}\n{issue.body}".lower()
        and (released is None or issue.created_at >= released)
    ]
    return Feedback(released, tuple(found))
