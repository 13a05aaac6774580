"""Shared fixtures: the example repository, real git work trees, and the CLI in-process."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_ci.adapters.git_records import GitRecordStore
from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TrackingTarget
from mlops_ci.cli.main import main
from tests.github.fake import FakeGitHub
from tests.production_services import ProductionMlflow
from tests.services import RegistryServer, TokenServer, busybox_layout, skopeo

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "churn"
MINIMAL = "apiVersion: mlops-ci/v1\nmodel:\n  name: churn\n  version: 1.0.0\n"
# What a command needs of the environment to run the example's model commands.
ENVIRON = {
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "HOME": os.environ.get("HOME", "/root"),
}


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


CliRunner = Callable[..., Run]


@pytest.fixture
def cli() -> CliRunner:
    """Run ``mlops-ci`` in-process with its own environment; capture both streams."""

    def run(*argv: str, environ: Mapping[str, str] | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        status = main(list(argv), environ=dict(environ or {}), stdout=out, stderr=err)
        return Run(status, out.getvalue(), err.getvalue())

    return run


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *arguments], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A fresh git work tree."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    return folder


@pytest.fixture
def shipped_example(repository: Path) -> Path:
    """examples/churn copied into a git work tree of its own, as shipped (no MLflow)."""
    shutil.copytree(
        EXAMPLE,
        repository,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__"),
    )
    return repository


@pytest.fixture
def example_copy(shipped_example: Path) -> Path:
    """The example with MLflow's embedded store turned on, as a user who wants runs to
    browse would have it."""
    track_embedded(shipped_example / "mlops.yaml")
    return shipped_example


def track_embedded(manifest: Path) -> None:
    """Names the embedded SQLite store in ``manifest``'s tracking section."""
    text = manifest.read_text()
    marker = "  mlflow:\n"
    assert marker in text, f"{manifest} has no tracking.mlflow section"
    manifest.write_text(
        text.replace(marker, marker + "    tracking_uri: sqlite:///.mlops-ci/mlflow.db\n", 1)
    )


class MlflowServer:
    """A real `mlflow server` on 127.0.0.1, with its own store; stop and start it at will."""

    def __init__(
        self,
        folder: Path,
        *,
        backend_store_uri: str | None = None,
        artifacts_destination: str | None = None,
        options: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.backend_store_uri = backend_store_uri or f"sqlite:///{folder / 'mlflow.db'}"
        self.artifacts_destination = artifacts_destination or str(folder / "artifacts")
        self.options = tuple(options)
        self.environ = dict(environ or {})

    def start(self) -> None:
        executable = Path(sys.executable).with_name("mlflow")
        if not executable.exists():
            message = "the mlflow server is not installed (pip install 'mlops-ci[server]')"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.folder.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **self.environ,
        }
        self.process = subprocess.Popen(
            [
                str(executable),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                self.backend_store_uri,
                "--artifacts-destination",
                self.artifacts_destination,
                *self.options,
            ],
            stdout=(self.folder / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"mlflow server exited: {(self.folder / 'server.log').read_text()}")
            try:
                health = f"{self.url}/health"  # http on 127.0.0.1, built here
                with urllib.request.urlopen(health, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError:
                return  # up, and asking for a login
            except OSError:
                time.sleep(0.3)
        self.stop()
        pytest.fail("mlflow server did not answer /health within 90 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One tracking server for the session's HTTP tests."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def production_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionMlflow]:
    """One production-shaped tracking server for the session (tests/production_services)."""
    from tests.production_services import started_production_mlflow

    with started_production_mlflow(tmp_path_factory.mktemp("production-mlflow")) as production:
        yield production


def commit(folder: Path, message: str, *, touch: str | None = None) -> str:
    """Commit everything (after changing ``touch``, if given) and return the commit id."""
    if touch is not None:
        path = folder / touch
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(f"{message}\n")
    git(folder, "add", "-A")
    git(
        folder,
        "-c",
        "user.name=Test",
        "-c",
        "user.email=test@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )
    return git(folder, "rev-parse", "HEAD").strip()


def tag(folder: Path, name: str, revision: str = "HEAD", *, days_ago: int = 0) -> None:
    """An annotated tag, dated ``days_ago`` days back (its tagger date)."""
    when = int(time.time() - days_ago * 86400)
    subprocess.run(
        [
            "git",
            "-C",
            str(folder),
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "tag",
            "-a",
            "-m",
            name,
            name,
            revision,
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_COMMITTER_DATE": f"@{when} +0000"},
    )


def records_of(
    repository: Path, environ: Mapping[str, str] | None = None, manifest: str = "mlops.yaml"
) -> GitRecordStore:
    """The records the CLI keeps in ``repository``'s git, as it sees them with ``environ``
    (which MLflow they were synced to); nothing is fetched."""
    from mlops_ci import wiring
    from mlops_ci.manifest.loader import load_manifest

    settings = {**(environ or {}), "MLOPS_CI_FETCH": "false", "MLOPS_CI_PUSH": "false"}
    return wiring.record_store(load_manifest(repository / manifest), settings)


def embedded_tracker(repository: Path, model: str = "churn-classifier") -> MlflowTracker:
    """The embedded SQLite store the CLI uses for ``repository`` by default."""
    return MlflowTracker(
        TrackingTarget(
            uri=f"sqlite:///{repository / '.mlops-ci' / 'mlflow.db'}",
            experiment=model,
            registered_model=model,
            artifact_root=repository / ".mlops-ci" / "mlartifacts",
        )
    )


REGISTRY_USERS = {"ci": "s3cret-registry-password"}


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """docker-registry on 127.0.0.1, anyone may pull and push."""
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """docker-registry asking for htpasswd basic auth (REGISTRY_USERS)."""
    server = RegistryServer(tmp_path_factory.mktemp("auth-registry"), users=REGISTRY_USERS)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RegistryServer, TokenServer]]:
    """docker-registry with Bearer tokens from a token service (REGISTRY_USERS)."""
    folder = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(folder / "tokens", REGISTRY_USERS)
    server = RegistryServer(folder / "registry", auth=tokens.registry_auth())
    server.start()
    yield server, tokens
    server.stop()
    tokens.stop()


@pytest.fixture(scope="session")
def base_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busybox_layout(tmp_path_factory.mktemp("busybox"))


@pytest.fixture(scope="session")
def base_image(registry: RegistryServer, base_layout: Path) -> str:
    """busybox in the plain registry, copied there by skopeo (another client than ours)."""
    reference = f"{registry.host}/library/busybox:test"
    copied = skopeo(
        "copy", "--dest-tls-verify=false", "--preserve-digests",
        f"oci:{base_layout}:test", f"docker://{reference}",
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    return reference


@pytest.fixture
def github(repository: Path, tmp_path: Path) -> Iterator[FakeGitHub]:
    """The fake, serving acme/models; ``repository`` has it as origin, main pushed."""
    (repository / "README.md").write_text("models\n")
    commit(repository, "initial")
    bare = tmp_path / "models.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(bare)], check=True)
    git(repository, "remote", "add", "origin", str(bare))
    git(repository, "fetch", "-q", "origin")
    fake = FakeGitHub(bare)
    yield fake
    fake.stop()
    assert fake.schema_errors == []
