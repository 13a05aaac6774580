"""Spark as production runs it: a real Spark Connect server (the one pyspark ships, in local
mode on 127.0.0.1) checks a file and a table of its catalog as the local path would; a
missing table is exit 2 and a server that does not answer is exit 3, each one sentence
with no token in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_ci.data.checks.outcome import DataSetReport
from mlops_ci.data.data_set import check_data_set
from mlops_ci.errors import ExitStatus
from mlops_ci.manifest.model import DataFormat, DataSet, Engine
from tests.conftest import CliRunner, commit
from tests.data.test_engines_agree import CHECKS, assert_same, failing_frame, written
from tests.services import SparkConnectServer, free_port

MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: churn, version: 1.0.0}}
data:
  - name: train
    engine: spark
    table: {table}
    spark: {{{spark}}}
    checks: {{columns: {{id: string, age: int}}, not_null: [age]}}
"""


@pytest.fixture(scope="module")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkConnectServer]:
    server = SparkConnectServer(tmp_path_factory.mktemp("spark-connect"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def events(spark_connect: SparkConnectServer) -> str:
    """A table of the server's catalog that outlives the session that made it."""
    from pyspark.sql.connect.session import SparkSession

    session = SparkSession.builder.remote(spark_connect.url).create()
    try:
        session.sql(
            "SELECT * FROM VALUES ('a', 31), ('b', NULL) AS t(id, age)"
        ).createOrReplaceGlobalTempView("events")
    finally:
        session.stop()
    return "global_temp.events"


def ingest(cli: CliRunner, repository: Path, table: str, spark: str) -> tuple[int, str]:
    (repository / "mlops.yaml").write_text(MANIFEST.format(table=table, spark=spark))
    commit(repository, "manifest")
    run = cli("ingest", "--no-tracking", "-f", str(repository / "mlops.yaml"))
    assert "Traceback" not in run.out + run.err
    return run.status, run.out + run.err


def report(path: Path, file_format: DataFormat, engine: Engine) -> DataSetReport:
    data_set = DataSet("train", path, file_format, "label", CHECKS, engine=engine)
    return check_data_set(data_set, "data/train")


def test_a_file_is_checked_on_the_server_as_on_this_runner(
    spark_connect: SparkConnectServer, tmp_path: Path
) -> None:
    frame = failing_frame()
    formats: tuple[DataFormat, ...] = ("csv", "parquet", "jsonl")
    for file_format in formats:
        path = written(frame, tmp_path, file_format)
        local = report(path, file_format, Engine("local"))
        remote = report(path, file_format, Engine("spark", remote=spark_connect.url))
        assert_same(local, remote)
        failed = {o.check: o for o in remote.outcomes if not o.passed}
        assert failed["unique"].rows == (3,)
        assert failed["pii email"].rows == (2,)
        assert "bob@example.com" not in failed["pii email"].message


def test_a_table_of_the_server_is_checked_in_place(
    cli: CliRunner, repository: Path, spark_connect: SparkConnectServer, events: str
) -> None:
    status, output = ingest(cli, repository, events, f"remote: '{spark_connect.url}'")
    assert status == ExitStatus.CHECK_FAILED
    assert "'age' has 1 missing value (row 2)" in output


@pytest.mark.parametrize("where", ["connect", "local"])
def test_a_missing_table_exits_2(
    cli: CliRunner, repository: Path, spark_connect: SparkConnectServer, where: str
) -> None:
    spark = f"remote: '{spark_connect.url}'" if where == "connect" else "master: 'local[1]'"
    status, output = ingest(cli, repository, "global_temp.nothing_here", spark)
    assert status == ExitStatus.BAD_INPUT
    assert "table global_temp.nothing_here does not exist in Spark; fix data[].table or " in output


def test_a_server_that_does_not_answer_exits_3_without_its_token(
    cli: CliRunner, repository: Path
) -> None:
    address = f"sc://127.0.0.1:{free_port()}/;token=s3cr3t-connect-token"
    status, output = ingest(cli, repository, "events", f"remote: '{address}'")
    assert status == ExitStatus.SERVICE_FAILED
    assert "table events: the Spark Connect server did not answer (" in output
    assert "s3cr3t" not in output
