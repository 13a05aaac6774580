"""Data sets at an address: `mlops-ci ingest` reads s3:// from a real S3-compatible server
(moto's) and http(s):// from a server on 127.0.0.1, gives the same report as for the same
file in the repository, and explains a missing file, missing credentials, a refusal and an
unreachable store in one sentence that quotes no credential."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlops_ci.errors import ExitStatus
from tests.conftest import CliRunner, commit
from tests.production_services import BUCKET, ObjectStoreServer
from tests.services import free_port

DATA = b"id,age,email\na,31,\nb,,ann@example.com\nc,47,\n"
MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: churn, version: 1.0.0}}
data:
  - name: train
    path: "{path}"
    checks:
      columns: {{id: string, age: int, email: string}}
      not_null: [age]
      unique: [id]
      pii: {{forbid: [email]}}
"""
SECRET_KEY = "testing-secret-key"  # noqa: S105 (ObjectStoreServer's; never to be printed)


@pytest.fixture(scope="module")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    server = ObjectStoreServer(tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        server.client().put_object(Bucket=BUCKET, Key="data/train.csv", Body=DATA)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_environ(object_store: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard AWS variables a job would set, pointed at the local server; no
    credentials file or instance metadata to fall back on."""
    for name, value in object_store.environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", object_store.url)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")


def ingest(cli: CliRunner, repository: Path, path: str) -> tuple[int, str, dict[str, Any]]:
    (repository / "mlops.yaml").write_text(MANIFEST.format(path=path))
    commit(repository, "manifest")
    run = cli("ingest", "--no-tracking", "--json", "-f", str(repository / "mlops.yaml"))
    assert "Traceback" not in run.out + run.err
    report = json.loads(run.out) if run.out.startswith("{") else {}
    return run.status, run.out + run.err, report


def stage_result(report: dict[str, Any]) -> tuple[Any, ...]:
    """What the checks found, whatever the file's address."""
    stage = report["stages"][0]
    checks = [(c["name"], c["value"], c["verdict"], c["message"]) for c in stage["checks"]]
    data = stage["data"][0]
    return (stage["verdict"], tuple(checks), data["rows"], data["fingerprint"])


@pytest.fixture
def local_result(cli: CliRunner, repository: Path) -> tuple[Any, ...]:
    (repository / "train.csv").write_bytes(DATA)
    status, _, report = ingest(cli, repository, "train.csv")
    assert status == 1  # a missing age and an e-mail address
    return stage_result(report)


@pytest.mark.usefixtures("s3_environ")
def test_an_s3_file_gets_the_report_of_the_same_file_in_the_repository(
    cli: CliRunner, repository: Path, local_result: tuple[Any, ...]
) -> None:
    status, output, report = ingest(cli, repository, f"s3://{BUCKET}/data/train.csv")
    assert status == 1
    assert stage_result(report) == local_result
    assert "ann@example.com" not in output  # masked as it is for a local file
    assert SECRET_KEY not in output


@pytest.mark.usefixtures("s3_environ")
@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            f"s3://{BUCKET}/data/missing.csv",
            f"s3://{BUCKET}/data/missing.csv does not exist; fix data[].path",
        ),
        (
            "s3://no-such-bucket/train.csv",
            "s3://no-such-bucket/train.csv: the bucket 'no-such-bucket' does not exist; "
            "fix data[].path",
        ),
    ],
)
def test_a_missing_object_or_bucket_exits_2(
    cli: CliRunner, repository: Path, path: str, message: str
) -> None:
    status, output, _ = ingest(cli, repository, path)
    assert status == ExitStatus.BAD_INPUT
    assert message in output


@pytest.mark.usefixtures("s3_environ")
def test_missing_credentials_exit_2_and_say_which_variables(
    cli: CliRunner, repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, output, _ = ingest(cli, repository, f"s3://{BUCKET}/data/train.csv")
    assert status == ExitStatus.BAD_INPUT
    assert "needs S3 credentials and none are set; set AWS_ACCESS_KEY_ID" in output


@pytest.mark.usefixtures("s3_environ")
def test_an_unreachable_store_exits_3_after_its_attempts(
    cli: CliRunner, repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    status, output, _ = ingest(cli, repository, f"s3://{BUCKET}/data/train.csv")
    assert status == ExitStatus.SERVICE_FAILED
    assert (
        f"s3://{BUCKET}/data/train.csv could not be read after 3 attempts: the S3 endpoint "
        "did not answer; check that the store is reachable from this runner"
    ) in output
    assert SECRET_KEY not in output


class _Files(BaseHTTPRequestHandler):
    """A file server that answers each path as a store would: the file, 404, 401, a
    server error every time, or a server error once and then the file."""

    answered: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        seen = self.answered[path] = self.answered.get(path, 0) + 1
        status = {
            "/train.csv": 200,
            "/missing.csv": 404,
            "/private.csv": 401,
            "/broken.csv": 500,
            "/flaky.csv": 500 if seen == 1 else 200,
        }.get(path, 404)
        body = DATA if status == 200 else b"no"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[str]:
    _Files.answered = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_file_gets_the_same_report(
    cli: CliRunner, repository: Path, file_server: str, local_result: tuple[Any, ...]
) -> None:
    status, _, report = ingest(cli, repository, f"{file_server}/train.csv")
    assert status == 1
    assert stage_result(report) == local_result


def test_a_server_error_is_tried_again(
    cli: CliRunner, repository: Path, file_server: str, local_result: tuple[Any, ...]
) -> None:
    status, _, report = ingest(cli, repository, f"{file_server}/flaky.csv")
    assert status == 1
    assert stage_result(report)[:3] == local_result[:3]
    assert _Files.answered["/flaky.csv"] == 2


@pytest.mark.parametrize(
    ("file", "status", "message"),
    [
        (
            "missing.csv",
            ExitStatus.BAD_INPUT,
            "/missing.csv does not exist (HTTP 404); fix data[].path",
        ),
        (
            "private.csv",
            ExitStatus.BAD_INPUT,
            "/private.csv refused the download (HTTP 401); the address needs credentials",
        ),
        (
            "broken.csv",
            ExitStatus.SERVICE_FAILED,
            "/broken.csv could not be read after 3 attempts: HTTP 500; check that the store "
            "is reachable from this runner",
        ),
    ],
)
def test_a_refusing_server_gets_a_sentence_without_the_signature(
    cli: CliRunner, repository: Path, file_server: str, file: str, status: int, message: str
) -> None:
    signed = f"{file_server}/{file}?X-Amz-Signature=top-secret-signature"
    got, output, _ = ingest(cli, repository, signed)
    assert got == status
    assert f"{file_server}{message}" in output
    assert "top-secret-signature" not in output
