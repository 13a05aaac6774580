"""A production-shaped MLflow for the tests, started here on 127.0.0.1: `mlflow server` with
its backend store on PostgreSQL (Debian's postgresql, a cluster of its own in a temporary
folder, on a free port), its artifacts in an S3-compatible object store, and MLflow's
basic-auth app in front (the credentials from the environment, as a user's CI gives them).

The object store is moto's server (PyPI moto[server]): the S3 API over HTTP in one Python
process, started in a second, with nothing to download. MinIO and SeaweedFS are in neither
Debian's packages nor PyPI, and Ceph's radosgw needs a whole cluster. MLflow reaches it
through boto3 with MLFLOW_S3_ENDPOINT_URL, as it would reach AWS or any S3-compatible
store.

A missing program is a failure in CI and a skip elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import _stop, free_port

ADMIN = "mlops-ci-admin"
ADMIN_PASSWORD = "an-admin-password-for-tests-0"  # noqa: S105 (a test server's, on 127.0.0.1)
DATABASE_PASSWORD = "a-database-password-for-tests"  # noqa: S105
BUCKET = "mlflow-artifacts"


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class PostgresServer:
    """A PostgreSQL cluster of its own: initdb in a fresh folder, postgres on a free port
    of 127.0.0.1 with password logins. As root it runs as the ``postgres`` user, which
    the package makes (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mlops-ci-postgres-"))
        self.started = False

    def url(self, database: str, driver: str = "+psycopg2") -> str:
        """The database's SQLAlchemy URL (with ``driver=""``, libpq's)."""
        return f"postgresql{driver}://postgres:{DATABASE_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self, *databases: str) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            _missing("PostgreSQL is not installed (apt-get install postgresql)")
        binaries = Path(found[-1]).parent
        data = self.folder / "data"
        (self.folder / "password").write_text(DATABASE_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(self.folder / "password", "postgres", "postgres")
        self._as_postgres(
            str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
            "--auth=scram-sha-256", f"--pwfile={self.folder / 'password'}",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c max_connections=200"
        )
        self._as_postgres(
            str(binaries / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "postgres.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.started = True
        import psycopg2

        connection = psycopg2.connect(self.url("postgres", driver=""))
        connection.autocommit = True
        with connection.cursor() as cursor:
            for database in databases:
                cursor.execute(f'CREATE DATABASE "{database}"')
        connection.close()

    def stop(self) -> None:
        if self.started:
            found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
            self._as_postgres(
                found[-1], "-D", str(self.folder / "data"), "-m", "immediate", "stop", check=False
            )
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def _as_postgres(self, *command: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=False, timeout=120
        )
        if check and done.returncode != 0:
            log = self.folder / "postgres.log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            pytest.fail(f"{Path(command[0]).name} failed: {done.stderr[-3000:]}{tail}")


class ObjectStoreServer:
    """moto's S3 server on a free port of 127.0.0.1, with one bucket."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.environ = {
            "AWS_ACCESS_KEY_ID": "testing-key-id",
            "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_S3_ENDPOINT_URL": self.url,
        }

    def start(self) -> None:
        executable = Path(sys.executable).with_name("moto_server")
        if not executable.exists():
            _missing("moto's server is not installed (pip install 'mlops-ci[test]')")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=(self.folder / "moto.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"moto_server exited: {(self.folder / 'moto.log').read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):  # noqa: S310 (127.0.0.1)
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("moto_server did not answer within 60 s")
        self.client().create_bucket(Bucket=BUCKET)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.environ["AWS_SECRET_ACCESS_KEY"],
            region_name=self.environ["AWS_DEFAULT_REGION"],
        )

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        client = self.client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


@dataclass(frozen=True)
class ProductionMlflow:
    """`mlflow server` as a team runs it: PostgreSQL, artifacts in S3, basic auth."""

    server: Any  # tests.conftest.MlflowServer
    postgres: PostgresServer
    store: ObjectStoreServer
    environ: dict[str, str]  # what a job needs to reach it: the URI and the credentials

    @property
    def url(self) -> str:
        return str(self.server.url)


@contextlib.contextmanager
def started_production_mlflow(folder: Path) -> Iterator[ProductionMlflow]:
    from tests.conftest import MlflowServer

    postgres = PostgresServer()
    store = ObjectStoreServer(folder / "s3")
    server: MlflowServer | None = None
    try:
        postgres.start("mlflow", "mlflow_auth")
        store.start()
        (folder / "auth.ini").write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = {postgres.url('mlflow_auth')}\n"
            f"admin_username = {ADMIN}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # Without the cache every request pays a PBKDF2 check of the password (0.31 s
            # here, one worker): MLflow's own advice for a busy server.
            "auth_cache_ttl_seconds = 60\n"
        )
        server = MlflowServer(
            folder / "server",
            backend_store_uri=postgres.url("mlflow"),
            artifacts_destination=f"s3://{BUCKET}/artifacts",
            options=("--app-name", "basic-auth"),
            environ={
                **store.environ,
                "MLFLOW_AUTH_CONFIG_PATH": str(folder / "auth.ini"),
                "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-csrf-key-for-tests",
            },
        )
        server.start()
        yield ProductionMlflow(
            server,
            postgres,
            store,
            {
                "MLFLOW_TRACKING_URI": server.url,
                "MLFLOW_TRACKING_USERNAME": ADMIN,
                "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD,
            },
        )
    finally:
        if server is not None:
            server.stop()
        store.stop()
        postgres.stop()
