"""MLflow: one run per stage per candidate, the Model Registry and its aliases.

The history people look at lives here; the durable truth is the local records, so every
call is idempotent: a stage logged again for the same commit finds its run and adds only
what is missing (no second run, no second metric point), and ``mlops-ci sync`` can replay
records as often as it likes.

mlflow is imported only here, and only when a command needs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from mlops_ci.core.observations import Observation, metric_key
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import ServiceError

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
T = TypeVar("T")

# MLflow's per-request limits (mlflow.utils.validation): metrics and entities per log_batch.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
TAG = "mlops-ci."  # the prefix of every tag mlops-ci sets
MONITOR = "monitor"  # the stage tag of production observations


_NO_SUCH_ALIAS = ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
_RETRYABLE_CODES = {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}


class TrackingError(ServiceError):
    """MLflow did not answer, or kept failing, after bounded retries."""


def redact_uri(uri: str) -> str:
    """The URI with any user and password replaced, for messages and logs."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def resolve_tracking_uri(configured: str, repository: Path, environ: Mapping[str, str]) -> str:
    """MLFLOW_TRACKING_URI wins over the manifest; a relative SQLite path is relative to the
    repository (not to wherever the command happens to run)."""
    uri = environ.get("MLFLOW_TRACKING_URI") or configured
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{(repository / uri.removeprefix('sqlite:///')).resolve()}"
    return uri


@dataclass(frozen=True)
class TrackingTarget:
    uri: str
    experiment: str
    registered_model: str
    # Where a store without an artifact server keeps artifacts (the embedded SQLite default).
    artifact_root: Path


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep


class MlflowTracker:
    """The MLflow side of a model's lifecycle, against one tracking store."""

    def __init__(self, target: TrackingTarget, retry: Retry | None = None) -> None:
        # mlflow retries each HTTP request up to 7 times with a doubling backoff, minutes in
        # all; mlops-ci retries whole calls itself, a bounded few, so ask for none.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
        # mlflow prints "View run ... at: URL" on stdout when a run ends: stdout is ours.
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        from mlflow import MlflowClient

        # mlflow and alembic talk at INFO ("Creating initial MLflow database tables...") and
        # SQLAlchemy warns about mlflow's own code: neither is the user's business.
        for chatty in ("mlflow", "alembic"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mlflow(\.|$)")
        self.target = target
        self.retry = retry or Retry()
        self.client: MlflowClient = MlflowClient(tracking_uri=target.uri, registry_uri=target.uri)
        self._experiment_id: str | None = None

    # -- runs -----------------------------------------------------------------------------

    def log_stage(self, record: StageRecord) -> str:
        """Log ``record`` as its stage's run; returns the run id. Idempotent."""
        run = self._find_run(record) or self._call(
            "create a run",
            self.client.create_run,
            self.experiment_id(),
            start_time=_millis(record.started_at),
            tags=_run_tags(record),
            run_name=f"{record.version} {record.stage}",
        )
        run_id: str = run.info.run_id
        self._log_missing(run, record)
        self._log_record_artifact(run_id, record)
        self._call(
            "finish the run",
            self.client.set_terminated,
            run_id,
            "FINISHED" if record.verdict != "failed" else "FAILED",
            _millis(record.finished_at),
        )
        return run_id

    def stage_records(self, model: str, limit: int = 20_000) -> list[StageRecord]:
        """The stage runs of ``model`` as records (without their details), for a report
        made where the records are not (a fresh checkout in CI)."""
        from mlops_ci.core.lifecycle import STATES
        from mlops_ci.core.records import VERDICTS

        query = f"tags.`{TAG}model` = '{_quoted(model)}'"
        found: list[StageRecord] = []
        for run in self._search(query, limit, "attributes.start_time ASC"):
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

        when = _millis(observation.at)
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

    def observations(self, model: str, limit: int) -> list[Observation]:
        """The latest ``limit`` observations of ``model`` in production, newest first;
        metric names as MLflow keeps them (see metric_key)."""
        query = f"tags.`{TAG}model` = '{_quoted(model)}' AND tags.`{TAG}stage` = '{MONITOR}'"
        found: list[Observation] = []
        for run in self._search(query, limit, "attributes.start_time DESC"):
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

    def _search(self, query: str, limit: int, order: str) -> Iterator[Any]:
        """Up to ``limit`` runs of the experiment that match ``query``, page by page."""
        token = None
        left = limit
        while left > 0:
            page = self._call(
                "search runs",
                self.client.search_runs,
                [self.experiment_id()],
                query,
                max_results=min(1000, left),
                order_by=[order],
                page_token=token,
            )
            yield from page[:left]
            left -= len(page)
            token = page.token
            if not token:
                return

    def runs_of(self, model: str, version: str) -> list[Any]:
        query = (
            f"tags.`{TAG}model` = '{_quoted(model)}' AND tags.`{TAG}version` = '{_quoted(version)}'"
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
            f"tags.`{TAG}{key}` = '{_quoted(value)}'"
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

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self._call(
                "find the experiment", self.client.get_experiment_by_name, self.target.experiment
            )
            if found is None:
                self._experiment_id = self._create_experiment()
            else:
                self._experiment_id = str(found.experiment_id)
        return self._experiment_id

    def _create_experiment(self) -> str:
        from mlflow.exceptions import MlflowException

        location = None
        if not self.target.uri.startswith(("http://", "https://", "databricks")):
            location = self.target.artifact_root.resolve().as_uri()
        try:
            return str(
                self._call(
                    "create the experiment",
                    self.client.create_experiment,
                    self.target.experiment,
                    artifact_location=location,
                    expected=("RESOURCE_ALREADY_EXISTS",),
                )
            )
        except MlflowException:
            # Two jobs created it at once: the other one won, which is just as good.
            found = self.client.get_experiment_by_name(self.target.experiment)
            if found is None:
                raise
            return str(found.experiment_id)

    def _find_run(self, record: StageRecord) -> Any:
        query = " AND ".join(
            f"tags.`{TAG}{key}` = '{_quoted(value)}'" for key, value in _identity(record).items()
        )
        runs = self._call(
            "search runs", self.client.search_runs, [self.experiment_id()], query, max_results=1
        )
        return runs[0] if runs else None

    def _log_missing(self, run: Any, record: StageRecord) -> None:
        """Log the params, metrics and tags the run does not hold yet, in few requests."""
        from mlflow.entities import Metric, Param, RunTag

        data = run.data
        timestamp = _millis(record.finished_at)
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
            )

    def _log_record_artifact(self, run_id: str, record: StageRecord) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{record.stage}.json"
            path.write_text(
                json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            self._call("store the record", self.client.log_artifact, run_id, str(path), "mlops-ci")

    # -- the Model Registry -----------------------------------------------------------------

    def register(
        self,
        version: str,
        run_id: str | None,
        model: Path,
        files: Sequence[str],
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """The registered model version of candidate ``version``, made once. Its source is
        the model's ``files`` (relative to ``model``), stored in the run ``run_id`` under
        ``model/``: a tracking server accepts only a source inside its own artifact store."""
        from mlflow.exceptions import MlflowException

        name = self.target.registered_model
        with contextlib.suppress(MlflowException):  # made for an earlier candidate
            self._call(
                "create the registered model",
                self.client.create_registered_model,
                name,
                expected=("RESOURCE_ALREADY_EXISTS",),
            )
        existing = self.model_version_of(version)
        if existing is not None:
            return existing
        if run_id is None:  # no run to hold the files: only a local store takes a path
            source = model.resolve().as_uri()
        else:
            for relative in files:
                folder = PurePosixPath("model", relative).parent
                self._call(
                    "store the model",
                    self.client.log_artifact,
                    run_id,
                    str(model / relative),
                    str(folder),
                )
            source = f"runs:/{run_id}/model"
        created = self._call(
            "register the candidate",
            self.client.create_model_version,
            name,
            source,
            run_id,
            {f"{TAG}version": version, **(tags or {})},
        )
        return str(created.version)  # an int from SQLite, a str over REST

    def model_version_of(self, version: str) -> str | None:
        for found in self._model_versions():
            if found.tags.get(f"{TAG}version") == version:
                return str(found.version)
        return None

    def registered_candidates(self) -> list[str]:
        """Every version string registered for the model: a source of candidate numbers."""
        return [
            found.tags[f"{TAG}version"]
            for found in self._model_versions()
            if f"{TAG}version" in found.tags
        ]

    def tag_version(
        self, version: str, tags: Mapping[str, str], *, missing_ok: bool = False
    ) -> bool:
        """Tag candidate ``version``'s model version; False (with ``missing_ok``) when it was
        never registered, which is otherwise an error."""
        number = self.model_version_of(version)
        if number is None:
            if missing_ok:
                return False
            raise TrackingError(f"{version} is not registered in {self.target.registered_model}")
        for key, value in tags.items():
            self._call(
                "tag the model version",
                self.client.set_model_version_tag,
                self.target.registered_model,
                number,
                key,
                value,
            )
        return True

    def move_alias(self, alias: str, version: str, when: datetime) -> None:
        """Point ``alias`` at ``version``, keeping the history of moves as version tags:
        ``mlops-ci.alias.<alias>.from`` and ``.until`` say when it pointed there."""
        from mlflow.exceptions import MlflowException

        name = self.target.registered_model
        number = self.model_version_of(version)
        if number is None:
            raise TrackingError(f"{version} is not registered in {name}; register it first")
        try:
            current = self._call(
                "read the alias",
                self.client.get_model_version_by_alias,
                name,
                alias,
                expected=_NO_SUCH_ALIAS,
            )
        except MlflowException:
            current = None
        if current is not None and str(current.version) == number:
            return
        stamp = when.astimezone(UTC).isoformat()
        if current is not None:
            self._call(
                "close the alias period",
                self.client.set_model_version_tag,
                name,
                str(current.version),
                f"{TAG}alias.{alias}.until",
                stamp,
            )
        self._call(
            "open the alias period",
            self.client.set_model_version_tag,
            name,
            number,
            f"{TAG}alias.{alias}.from",
            stamp,
        )
        self._call("move the alias", self.client.set_registered_model_alias, name, alias, number)

    def alias_at(self, alias: str, when: datetime) -> str | None:
        """The candidate ``alias`` pointed at on ``when`` ("what was in production on D")."""
        opened, closed = f"{TAG}alias.{alias}.from", f"{TAG}alias.{alias}.until"
        best: tuple[datetime, str] | None = None
        for found in self._model_versions():
            if opened not in found.tags or f"{TAG}version" not in found.tags:
                continue
            start = datetime.fromisoformat(found.tags[opened])
            end = datetime.fromisoformat(found.tags[closed]) if closed in found.tags else None
            if start <= when and (end is None or when < end) and (best is None or start > best[0]):
                best = (start, found.tags[f"{TAG}version"])
        return best[1] if best else None

    def alias_target(self, alias: str) -> str | None:
        """The candidate version string ``alias`` points at, or None."""
        from mlflow.exceptions import MlflowException

        try:
            found = self._call(
                "read the alias",
                self.client.get_model_version_by_alias,
                self.target.registered_model,
                alias,
                expected=_NO_SUCH_ALIAS,
            )
        except MlflowException:
            return None
        version: str | None = found.tags.get(f"{TAG}version")
        return version

    def _model_versions(self) -> list[Any]:
        name = _quoted(self.target.registered_model)
        return list(
            self._call("list model versions", self.client.search_model_versions, f"name = '{name}'")
        )

    # -- calls --------------------------------------------------------------------------------

    def _call(
        self,
        what: str,
        function: Callable[..., T],
        *args: Any,
        expected: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> T:
        """``function`` with bounded retries on what a retry can mend (5xx, 429, a dropped
        connection). MLflow errors whose code is ``expected`` reach the caller as they are;
        any other refusal (a 401, a bad request) becomes a TrackingError naming the URI."""
        from mlflow.exceptions import MlflowException

        delay = self.retry.first_delay
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return function(*args, **kwargs)
            except Exception as error:  # classified below; the rest is re-raised untouched
                if isinstance(error, MlflowException) and error.error_code in expected:
                    raise
                if not _retryable(error):
                    if isinstance(error, MlflowException):
                        raise TrackingError(
                            f"MLflow at {redact_uri(self.target.uri)} refused to {what}: "
                            f"{_reason(error, self.target.uri)}"
                        ) from None
                    raise
                if attempt == self.retry.attempts:
                    raise TrackingError(
                        f"MLflow at {redact_uri(self.target.uri)} could not {what} after "
                        f"{attempt} tries: {_reason(error, self.target.uri)}; the records are "
                        "kept, run `mlops-ci sync` when it is back"
                    ) from None
                log.warning(
                    "MLflow could not %s (%s); trying again in %.1f s",
                    what,
                    _reason(error, self.target.uri),
                    delay,
                )
                self.retry.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _retryable(error: Exception) -> bool:
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException):
        status: int = error.get_http_status_code()  # type: ignore[no-untyped-call]
        return (
            status >= 500
            or status == 429
            or error.error_code in _RETRYABLE_CODES
            or "failed with exception" in str(error)
        )
    try:
        import requests
    except ImportError:  # pragma: no cover - mlflow depends on requests
        return False
    return isinstance(error, requests.exceptions.RequestException | ConnectionError)


def _reason(error: Exception, uri: str) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = text.replace(uri, redact_uri(uri))
    return text[:300]


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


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _quoted(value: str) -> str:
    """A value inside an MLflow filter string's single quotes."""
    return re.sub(r"(['\\])", r"\\\1", value)
