"""A release: the candidate to release and what its pull request changes, as values.

The plan is computed by ``app.release_plan`` from what is known (the candidate's records,
production's metrics, the files on the base branch) without touching anything; the marker
at the end of a release pull request's body says which model, environment, candidate and
digest it releases, and ``publish`` reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.core.gates import GateResult
from mlops_ci.core.image_reference import modelpack_tag, registry_tag
from mlops_ci.core.record_details import DataSetFingerprint

MARKER = "<!-- mlops-ci:release"


@dataclass(frozen=True)
class Candidate:
    """What the records say of the candidate to release, and of production."""

    version: str
    release_version: str
    digest: str
    repository: str
    gates: tuple[GateResult, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    production: str | None = None
    production_metrics: Mapping[str, float] = field(default_factory=dict)
    data: tuple[DataSetFingerprint, ...] = ()
    commits: tuple[tuple[str, str], ...] = ()
    history: tuple[tuple[str, Mapping[str, float]], ...] = ()
    modelpack_digest: str | None = None  # the image's ModelPack artifact, when it has one
    card: str = ""  # its model card, in Markdown (report/model_card.py)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.release_version.replace('+', '_')}@{self.digest}"

    @property
    def modelpack_reference(self) -> str | None:
        if self.modelpack_digest is None:
            return None
        tag = modelpack_tag(registry_tag(self.release_version))
        return f"{self.repository}:{tag}@{self.modelpack_digest}"


@dataclass(frozen=True)
class Target:
    kind: str  # a key of deploy.targets.TARGETS
    path: str
    text: str


@dataclass(frozen=True)
class FileChange:
    path: str
    text: str


@dataclass(frozen=True)
class ReleasePlan:
    model: str
    environment: str | None
    version: str
    candidate: str
    digest: str
    branch: str
    title: str
    body: str
    commit_message: str
    changes: tuple[FileChange, ...]
    notes: str


def branch_name(model: str, environment: str | None) -> str:
    return f"mlops-ci/release/{model}" + (f"/{environment}" if environment else "")


def parse_marker(body: str) -> dict[str, Any] | None:
    """The fields of the last release marker in a pull request's body (untrusted text: a
    marker without model, candidate and digest is none)."""
    start = body.rfind(MARKER)
    if start < 0:
        return None
    fields = dict(
        part.split("=", 1)
        for part in body[start + len(MARKER) :].split("-->", maxsplit=1)[0].split()
        if "=" in part
    )
    if not {"model", "candidate", "digest"} <= fields.keys():
        return None
    environment = fields.get("environment")
    return {**fields, "environment": None if environment in (None, "-") else environment}


def release_notes_of(body: str) -> str:
    """A release pull request's body without its marker: the GitHub release's notes."""
    return body.split(MARKER, maxsplit=1)[0].rstrip() + "\n"
