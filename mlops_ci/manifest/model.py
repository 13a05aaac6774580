"""The typed, frozen model of a valid manifest.

Sizes are bytes, durations are timedeltas, paths are resolved against the manifest's folder;
defaults are filled in here, and a test checks that they equal the schema's ``default``s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from mlops_ci.core.commands import Command
from mlops_ci.core.settings import (
    Bounds,
    BumpLevel,
    DriftLimits,
    PiiKind,
    Regression,
    RelativeBounds,
)
from mlops_ci.core.signature import Signature
from mlops_ci.core.slices import SliceRule
from mlops_ci.core.versions import Scheme

ColumnType = Literal["string", "int", "float", "bool", "date", "datetime"]
DataFormat = Literal["csv", "parquet", "jsonl"]
EngineKind = Literal["local", "duckdb", "spark"]
Strategy = Literal["rolling", "blue-green"]
ImageBackend = Literal["auto", "oci", "docker"]
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Model:
    name: str
    version: str
    description: str = ""
    owners: tuple[str, ...] = ()
    signature: Signature | None = None
    intended_use: str = ""
    limitations: str = ""


@dataclass(frozen=True)
class Versioning:
    scheme: Scheme = "semver"
    bump: BumpLevel = "auto"
    tag: str = "{name}@{version}"


@dataclass(frozen=True)
class LabelChecks:
    allowed: tuple[Scalar, ...] | None = None
    max_missing: float = 0.0


@dataclass(frozen=True)
class BalanceCheck:
    column: str
    min_share: float
    sensitive: tuple[str, ...] = ()
    bins: int | None = None  # a numeric column: its quantile bins are the classes


@dataclass(frozen=True)
class PiiChecks:
    forbid: tuple[PiiKind, ...] = ()
    hashed: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataChecks:
    columns: tuple[tuple[str, ColumnType], ...] = ()
    not_null: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    range: tuple[tuple[str, Bounds], ...] = ()
    allowed: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()
    min_rows: int | None = None
    labels: LabelChecks | None = None
    balance: BalanceCheck | None = None
    pii: PiiChecks | None = None


@dataclass(frozen=True)
class Engine:
    """Where a data set's checks run; ``database`` is duckdb's, ``master`` and ``remote``
    are spark's (None: from the environment, else local mode)."""

    kind: EngineKind = "local"
    database: Path | None = None
    master: str | None = None
    remote: str | None = None


@dataclass(frozen=True)
class DataSet:
    """One data set: a file in the repository (``path``), at an address (``url``), or a
    table of its engine (``table``); exactly one of them is set."""

    name: str
    path: Path | None
    format: DataFormat
    label: str | None = None
    checks: DataChecks = field(default_factory=DataChecks)
    url: str | None = None
    table: str | None = None
    engine: Engine = field(default_factory=Engine)
    drift: DriftLimits | None = None

    def shown(self, repository: Path) -> str:
        """How messages name it: its path in the repository, its address, or its table."""
        if self.path is not None:
            return self.path.relative_to(repository).as_posix()
        if self.url is not None:
            return shown_url(self.url)
        return f"table {self.table}"


def shown_url(url: str) -> str:
    """An address without what may be a secret in it: user, password and query (a
    pre-signed URL's signature is its query)."""
    scheme, _, rest = url.partition("://")
    host_and_path = rest.split("?", 1)[0].split("#", 1)[0]
    host, slash, path = host_and_path.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


@dataclass(frozen=True)
class Build:
    command: Command
    artifacts: Path
    metrics: Path


@dataclass(frozen=True)
class Test:
    command: Command | None = None
    metrics: tuple[str, ...] = ()
    gates: tuple[tuple[str, Bounds], ...] = ()
    against_production: tuple[tuple[str, RelativeBounds], ...] = ()
    slices: tuple[tuple[str, SliceRule], ...] = ()


@dataclass(frozen=True)
class Latency:
    command: Command
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True)
class Validate:
    max_size: int | None = None
    latency: Latency | None = None
    max_memory: int | None = None


@dataclass(frozen=True)
class Signing:
    public_key: Path  # what promote and publish verify with; the private key is a secret


@dataclass(frozen=True)
class Image:
    repository: str
    base: str = "docker.io/library/busybox:1.36"
    backend: ImageBackend = "auto"
    layer_size: int = 1024**3
    dockerfile: Path | None = None
    modelpack: bool = True
    signing: Signing | None = None

    @property
    def uses_docker(self) -> bool:
        return self.backend == "docker" or (self.backend == "auto" and self.dockerfile is not None)


@dataclass(frozen=True)
class Target:
    kind: str  # the manifest's key for it, as deploy.targets names them
    path: Path


@dataclass(frozen=True)
class Environment:
    name: str
    targets: tuple[Target, ...]
    strategy: Strategy = "rolling"


@dataclass(frozen=True)
class PullRequest:
    base: str = "main"
    labels: tuple[str, ...] = ("release",)
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Release:
    image: Image | None = None
    environments: tuple[Environment, ...] = ()
    pull_request: PullRequest = field(default_factory=PullRequest)


@dataclass(frozen=True)
class MlflowTracking:
    experiment: str
    registered_model: str
    # None: MLflow is not used (unless MLFLOW_TRACKING_URI names one); records live in git.
    tracking_uri: str | None = None


@dataclass(frozen=True)
class Retention:
    keep_last: int = 10
    max_age: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class MonitorSource:
    prometheus: str | None = None
    file: Path | None = None


@dataclass(frozen=True)
class MonitorDrift:
    """``monitor.drift``: production's features, from a sample file or histograms."""

    limits: DriftLimits
    data: str | None = None  # the data set of data[]; the first when None
    sample: Path | None = None
    histograms: tuple[tuple[str, str], ...] = ()  # column -> histogram metric


@dataclass(frozen=True)
class Monitor:
    source: MonitorSource
    slo: tuple[tuple[str, Bounds], ...] = ()
    metrics: tuple[str, ...] = ()
    regression: Regression = field(default_factory=Regression)
    drift: MonitorDrift | None = None


@dataclass(frozen=True)
class Manifest:
    """A manifest that passed the schema and every semantic check.

    ``path`` is the manifest file; ``root`` the folder its relative paths start from;
    ``repository`` the repository that holds it (or ``root`` outside a repository).
    """

    path: Path
    root: Path
    repository: Path
    model: Model
    versioning: Versioning
    tracking: MlflowTracking
    retention: Retention
    data: tuple[DataSet, ...] = ()
    build: Build | None = None
    test: Test | None = None
    validate: Validate | None = None
    release: Release | None = None
    monitor: Monitor | None = None
