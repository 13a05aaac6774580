"""MLflow: one run per stage per candidate, production's observations, and (through
ModelRegistry) the registered model and its aliases.

The history people look at lives here; the durable truth is the local records, so every
call is idempotent: a stage logged again for the same commit finds its run and adds only
what is missing (no second run, no second metric point), and ``mlops-ci sync`` can replay
records as often as it likes.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_ci.adapters.mlflow_connection import (
    TAG,
    TWIN_WRITE_CODES,
    TWIN_WRITES,
    millis,
    quoted,
    written_by_a_twin,
)
from mlops_ci.adapters.mlflow_registry import ModelRegistry
from mlops_ci.core.observations import Observation, metric_key
from mlops_ci.core.records import StageRecord

# MLflow's per-request limits (mlflow.utils.validation): metrics and entities per log_batch.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MONITOR = "monitor"  # the stage tag of production observations
CREATED_TAG = f"{TAG}created_ms"  # when the job made the run: which of twins came first
_MOST_TWINS = 50  # runs of one record that one search reads: more is not a race of ours


class MlflowTracker(ModelRegistry):
    """The Tracker port: the MLflow side of a model's lifecycle, against one tracking store."""

    def log_stage(self, record: StageRecord) -> str:
        """Log ``record`` as its stage's run; returns the run id. Idempotent, and safe
        against another job logging the same record at the same time (_first_of_twins)."""
        run = self._find_run(record)
        if run is None:
            created = self._call(
                "create a run",
                self.client.create_run,
                self.experiment_id(),
                start_time=millis(record.started_at),
                tags={**_run_tags(record), CREATED_TAG: str(time.time_ns() // 1_000_000)},
                run_name=f"{record.version} {record.stage}",
            )
            run = self._first_of_twins(record, created)
            if run.info.run_id != created.info.run_id:
                return str(run.info.run_id)  # the job that made it logs it
        run_id: str = run.info.run_id
        self._log_missing(run, record)
        self._log_record_artifact(run_id, record)
        self._call(
            "finish the run",
            self.client.set_terminated,
            run_id,
            "FINISHED" if record.verdict != "failed" else "FAILED",
            millis(record.finished_at),
        )
        return run_id

    def stage_records(self, model: str, limit: int = 20_000) -> list[StageRecord]:
        """The stage runs of ``model`` as records (without their details), for a report
        made where the records are not (a fresh checkout in CI)."""
        from mlops_ci.core.lifecycle import STATES
        from mlops_ci.core.records import VERDICTS

        query = f"tags.`{TAG}model` = '{quoted(model)}'"
        found: list[StageRecord] = []
        for run in self.search(query, limit, "attributes.start_time ASC"):
            tags = run.data.tags
            stage, verdict, state = (
                tags.get(f"{TAG}stage", ""),
                tags.get(f"{TAG}verdict", ""),
                tags.get(f"{TAG}state", ""),
            )
            if stage == MONITOR or verdict not in VERDICTS or state not in STATES:
                continue  # not a stage run of ours, or tags someone else changed
            started = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
            ended = run.info.end_time
            found.append(
                StageRecord(
                    model=model,
                    version=tags.get(f"{TAG}version", ""),
                    stage=stage,
                    verdict=verdict,
                    state=state,
                    started_at=started,
                    finished_at=datetime.fromtimestamp(ended / 1000, UTC) if ended else started,
                    git_sha=tags.get(f"{TAG}git_sha"),
                    metrics=dict(run.data.metrics),
                    mlflow_run_id=run.info.run_id,
                    synced=True,
                )
            )
        return found

    # -- production observations (monitor) ------------------------------------------------

    def log_observation(self, observation: Observation) -> str:
        """One run per observation of the model in production: its metrics (keys made
        safe for MLflow), the version it ran and what breached. Returns the run id."""
        from mlflow.entities import Metric, RunTag

        when = millis(observation.at)
        tags = {
            f"{TAG}model": observation.model,
            f"{TAG}version": observation.version,
            f"{TAG}stage": MONITOR,
            f"{TAG}verdict": "failed" if observation.breaches else "passed",
            f"{TAG}breaches": ",".join(sorted(observation.breaches)),
        }
        for kind, sentences in observation.breaches.items():
            tags[f"{TAG}breach.{kind}"] = "\n".join(sentences)[:5000]
        run = self._call(
            "create a run",
            self.client.create_run,
            self.experiment_id(),
            start_time=when,
            tags=tags,
            run_name=f"{observation.version} monitor",
        )
        run_id: str = run.info.run_id
        metrics = [
            Metric(metric_key(name), value, when, 0)
            for name, value in sorted(observation.metrics.items())
            if math.isfinite(value)
        ]
        for start in range(0, len(metrics), 1000):  # MLflow's limit per batch
            self._call(
                "log the observation",
                self.client.log_batch,
                run_id,
                metrics=metrics[start : start + 1000],
                tags=[RunTag(f"{TAG}observed", str(len(metrics)))] if start == 0 else [],
            )
        status = "FAILED" if observation.breaches else "FINISHED"
        self._call("finish the run", self.client.set_terminated, run_id, status, when)
        return run_id

    def observations(
        self, model: str, limit: int, since: datetime | None = None
    ) -> list[Observation]:
        """The latest ``limit`` observations of ``model`` in production (none before
        ``since``), newest first; metric names as MLflow keeps them (see metric_key)."""
        query = f"tags.`{TAG}model` = '{quoted(model)}' AND tags.`{TAG}stage` = '{MONITOR}'"
        if since is not None:
            # A millisecond early: MLflow keeps the moment in whole milliseconds.
            query += f" AND attributes.start_time >= {millis(since) - 1}"
        found: list[Observation] = []
        for run in self.search(query, limit, "attributes.start_time DESC"):
            tags = run.data.tags
            kinds = [k for k in tags.get(f"{TAG}breaches", "").split(",") if k]
            found.append(
                Observation(
                    model=model,
                    version=tags.get(f"{TAG}version", ""),
                    at=datetime.fromtimestamp(run.info.start_time / 1000, UTC),
                    metrics=dict(run.data.metrics),
                    breaches={
                        kind: tags.get(f"{TAG}breach.{kind}", "").split("\n") for kind in kinds
                    },
                )
            )
        return found

    def runs_of(self, model: str, version: str) -> list[Any]:
        query = (
            f"tags.`{TAG}model` = '{quoted(model)}' AND tags.`{TAG}version` = '{quoted(version)}'"
        )
        return list(
            self._call("search runs", self.client.search_runs, [self.experiment_id()], query)
        )

    def stage_metrics(self, model: str, version: str, stage: str) -> dict[str, float] | None:
        """The metrics of ``version``'s run of ``stage``, or None when it has none."""
        for run in self.runs_of(model, version):
            if run.data.tags.get(f"{TAG}stage") == stage:
                return dict(run.data.metrics)
        return None

    def built_at(self, model: str, git_sha: str) -> list[str]:
        """The candidates of ``model`` whose build passed at commit ``git_sha``, newest
        first: what a job on a fresh checkout of that commit finds in place of records."""
        query = " AND ".join(
            f"tags.`{TAG}{key}` = '{quoted(value)}'"
            for key, value in {
                "model": model,
                "git_sha": git_sha,
                "stage": "build",
                "verdict": "passed",
            }.items()
        )
        runs = self._call(
            "search runs",
            self.client.search_runs,
            [self.experiment_id()],
            query,
            order_by=["attributes.start_time DESC"],
        )
        return [str(run.data.tags[f"{TAG}version"]) for run in runs]

    def _find_run(self, record: StageRecord) -> Any:
        runs = self._runs_of(record)
        return min(runs, key=_creation_order) if runs else None

    def _runs_of(self, record: StageRecord) -> list[Any]:
        query = " AND ".join(
            f"tags.`{TAG}{key}` = '{quoted(value)}'" for key, value in _identity(record).items()
        )
        return list(
            self._call(
                "search runs", self.client.search_runs, [self.experiment_id()], query,
                max_results=_MOST_TWINS,
            )
        )  # fmt: skip

    def _first_of_twins(self, record: StageRecord, created: Any) -> Any:
        """The run of ``record`` once ``created`` is in the store. MLflow cannot create a
        run only if there is none, so two jobs that searched at once both create one; each
        then looks again, and the first created (by the time each job stamped on it, then
        by run id) is the run. A job whose run is not the first deletes its own, never
        another's: a run is deleted only while an earlier one is there, so the first is
        never deleted, and the job that created last sees them all."""
        first = min(self._runs_of(record) or [created], key=_creation_order)
        if first.info.run_id != created.info.run_id:
            self._call("delete a twin run", self.client.delete_run, created.info.run_id)
        return first

    def _log_missing(self, run: Any, record: StageRecord) -> None:
        """Log what the run does not hold yet. Two jobs of one record that found the same
        run write the same values at once, and the server's store refuses the second
        insert of a key; the job then reads the run again and logs what is still missing."""
        from mlflow.exceptions import MlflowException

        for attempt in range(1, TWIN_WRITES + 1):
            try:
                self._log_batches(run, record)
                return
            except MlflowException as error:
                if not written_by_a_twin(error) or attempt == TWIN_WRITES:
                    raise self._refusal("log a batch", error) from None
                run = self._call("read a run", self.client.get_run, run.info.run_id)

    def _log_batches(self, run: Any, record: StageRecord) -> None:
        """Log the params, metrics and tags the run does not hold yet, in few requests."""
        from mlflow.entities import Metric, Param, RunTag

        data = run.data
        timestamp = millis(record.finished_at)
        metrics = [
            Metric(key, float(value), timestamp, 0)
            for key, value in sorted(record.metrics.items())
            if key not in data.metrics
        ]
        params = [
            Param(key, value)
            for key, value in sorted(_params(record).items())
            if key not in data.params
        ]
        tags = [
            RunTag(key, value)
            for key, value in sorted(_outcome_tags(record).items())
            if data.tags.get(key) != value
        ]
        for metric_chunk, param_chunk, tag_chunk in _batches(metrics, params, tags):
            self._call(
                "log a batch",
                self.client.log_batch,
                run.info.run_id,
                metrics=metric_chunk,
                params=param_chunk,
                tags=tag_chunk,
                expected=TWIN_WRITE_CODES,
            )

    def _log_record_artifact(self, run_id: str, record: StageRecord) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{record.stage}.json"
            path.write_text(
                json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            self._call("store the record", self.client.log_artifact, run_id, str(path), "mlops-ci")


def _creation_order(run: Any) -> tuple[int, str]:
    """Runs made before this stamp was (or by hand) carry none: they came first."""
    stamp = run.data.tags.get(CREATED_TAG, "0")
    return (int(stamp) if stamp.isdigit() else 0, str(run.info.run_id))


def _identity(record: StageRecord) -> dict[str, str]:
    """What makes a run the run of one stage of one candidate on one commit."""
    return {
        "model": record.model,
        "version": record.version,
        "stage": record.stage,
        "git_sha": record.git_sha or "none",
    }


def _run_tags(record: StageRecord) -> dict[str, str]:
    return {f"{TAG}{key}": value for key, value in _identity(record).items()}


def _outcome_tags(record: StageRecord) -> dict[str, str]:
    tags: dict[str, str] = {f"{TAG}verdict": record.verdict, f"{TAG}state": record.state}
    if record.image_digest:
        tags[f"{TAG}image_digest"] = record.image_digest
    return tags


def _params(record: StageRecord) -> dict[str, str]:
    params = dict(record.params)
    if record.manifest_sha256:
        params.setdefault("manifest_sha256", record.manifest_sha256)
    if record.git_sha:
        params.setdefault("git_sha", record.git_sha)
    return {key: value[:6000] for key, value in params.items()}


def _batches(
    metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]
) -> Iterable[tuple[list[Any], list[Any], list[Any]]]:
    """log_batch payloads within MLflow's limits: 1,000 metrics and 100 params plus tags
    per request, 1,000 entities in all; 500 metrics and a few params go in one request."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    while metrics or params or tags:
        take_params = params[:MAX_PARAMS_TAGS_PER_BATCH]
        take_tags = tags[: MAX_PARAMS_TAGS_PER_BATCH - len(take_params)]
        room = MAX_METRICS_PER_BATCH - len(take_params) - len(take_tags)
        take_metrics = metrics[:room]
        yield take_metrics, take_params, take_tags
        metrics = metrics[len(take_metrics) :]
        params = params[len(take_params) :]
        tags = tags[len(take_tags) :]
