"""MLflow's Model Registry: a registered model version per candidate, its state as version
tags, and aliases (``candidate``, ``validated``, ``production``, one per environment) whose
every move is kept as version tags."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.adapters.mlflow_connection import TAG, MlflowConnection, TrackingError, quoted

_NO_SUCH_ALIAS = ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")


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
        name = quoted(self.target.registered_model)
        return list(
            self._call("list model versions", self.client.search_model_versions, f"name = '{name}'")
        )
