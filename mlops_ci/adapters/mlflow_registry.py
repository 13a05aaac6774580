"""MLflow's Model Registry: a registered model version per candidate, its state as version
tags, and aliases (``candidate``, ``validated``, ``production``, one per environment) whose
every move is kept as version tags."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.adapters.mlflow_connection import (
    TAG,
    MlflowConnection,
    TrackingError,
    quoted,
    redact_uri,
)

_NO_SUCH_ALIAS = ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
_FILES = "model"  # the run's artifact folder that holds a candidate's model files


class ModelRegistry(MlflowConnection):
    """The registered model of one tracking target."""

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
                folder = PurePosixPath(_FILES, relative).parent
                self._call(
                    "store the model",
                    self.client.log_artifact,
                    run_id,
                    str(model / relative),
                    str(folder),
                )
            source = f"runs:/{run_id}/{_FILES}"
        created = self._call(
            "register the candidate",
            self.client.create_model_version,
            name,
            source,
            run_id,
            {f"{TAG}version": version, **(tags or {})},
        )
        return self._first_registered(version, str(created.version))  # int or str: a str

    def _first_registered(self, version: str, created: str) -> str:
        """The candidate's registered version once ``created`` is in the registry. Two jobs
        that looked at once both register one; the registry numbers versions in the order
        they were made, so the lowest is the first, and the job that made another deletes
        its own (never another's): the job that registered last sees them all."""
        first = self.model_version_of(version) or created
        if first != created:
            self._call(
                "delete a twin version",
                self.client.delete_model_version,
                self.target.registered_model,
                created,
            )
        return first

    def model_version_of(self, version: str) -> str | None:
        """The registered version of candidate ``version``: the first, if jobs made twins."""
        numbers = [
            str(found.version)
            for found in self._model_versions()
            if found.tags.get(f"{TAG}version") == version
        ]
        return min(numbers, key=_number) if numbers else None

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
            self._write(
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
            self._write(
                "close the alias period",
                self.client.set_model_version_tag,
                name,
                str(current.version),
                f"{TAG}alias.{alias}.until",
                stamp,
            )
        self._write(
            "open the alias period",
            self.client.set_model_version_tag,
            name,
            number,
            f"{TAG}alias.{alias}.from",
            stamp,
        )
        self._write("move the alias", self.client.set_registered_model_alias, name, alias, number)

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

    def stored_model_bytes(self, version: str) -> int:
        """The bytes of candidate ``version``'s model files in MLflow's artifact store (0
        when it keeps none: never registered, registered from a path, or deleted)."""
        return self._stored(version)[1]

    def delete_stored_model(self, version: str) -> int:
        """Deletes candidate ``version``'s model files from MLflow's artifact store; its
        runs, metrics and registered version stay (tagged ``mlops-ci.files``). The bytes
        freed; 0 when there were none, so a second prune does nothing."""
        run_id, size = self._stored(version)
        if run_id is None or size == 0:
            return 0
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        run = self._call("read the run", self.client.get_run, run_id)
        repository = get_artifact_repository(run.info.artifact_uri)
        try:
            self._call("delete the model files", repository.delete_artifacts, _FILES)
        except OSError as error:  # the artifact server's refusal (requests' errors are these)
            raise TrackingError(
                f"MLflow at {redact_uri(self.target.uri)} would not delete {version}'s model "
                f"files ({type(error).__name__}); serve artifacts with deletes allowed, or "
                "run prune with --no-tracking"
            ) from None
        self.tag_version(version, {"mlops-ci.files": "deleted by retention"}, missing_ok=True)
        return size

    def _stored(self, version: str) -> tuple[str | None, int]:
        """The run whose ``model/`` artifacts are candidate ``version``'s source, and their
        bytes (None and 0 when it has none)."""
        run_id = None
        for found in self._model_versions():
            if found.tags.get(f"{TAG}version") == version:
                source = str(found.source or "")
                if found.run_id and source.startswith("runs:/"):
                    run_id = str(found.run_id)
                break
        return run_id, sum(size for _, size in self._files(run_id, _FILES)) if run_id else 0

    def _files(self, run_id: str, folder: str, depth: int = 0) -> Iterator[tuple[str, int]]:
        for info in self._call("list the model files", self.client.list_artifacts, run_id, folder):
            if not info.is_dir:
                yield info.path, int(info.file_size or 0)
            elif depth < 64:  # an answer that nests forever is not a model
                yield from self._files(run_id, info.path, depth + 1)

    def _model_versions(self) -> list[Any]:
        name = quoted(self.target.registered_model)
        return list(
            self._call("list model versions", self.client.search_model_versions, f"name = '{name}'")
        )


def _number(version: str) -> int:
    """A registered version's number (the registry's answer is untrusted: not one, last)."""
    return int(version) if version.isdigit() else 1 << 62
