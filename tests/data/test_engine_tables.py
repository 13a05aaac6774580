"""A data set that is a table of an embedded DuckDB: `mlops-ci ingest` checks it in place,
and a missing table, a missing database file or a file that is no database is one
sentence and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.errors import ExitStatus
from tests.conftest import CliRunner, commit

MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: churn, version: 1.0.0}}
data:
  - name: train
    engine: duckdb
    table: {table}
    database: {database}
    checks: {{columns: {{id: string, age: int}}, not_null: [age]}}
"""


@pytest.fixture
def warehouse(repository: Path) -> Path:
    import duckdb

    path = repository / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE events AS SELECT * FROM (VALUES ('a', 31), ('b', NULL)) t(id, age)"
        )
    (repository / "notes.duckdb").write_text("not a database\n")
    return path


def ingest(cli: CliRunner, repository: Path, table: str, database: str) -> tuple[int, str]:
    (repository / "mlops.yaml").write_text(MANIFEST.format(table=table, database=database))
    commit(repository, "manifest")
    run = cli("ingest", "--no-tracking", "-f", str(repository / "mlops.yaml"))
    assert "Traceback" not in run.out + run.err
    return run.status, run.out + run.err


@pytest.mark.usefixtures("warehouse")
def test_a_table_is_checked_in_place(cli: CliRunner, repository: Path) -> None:
    status, output = ingest(cli, repository, "events", "warehouse.duckdb")
    assert status == ExitStatus.CHECK_FAILED
    assert "'age' has 1 missing value (row 2)" in output


@pytest.mark.usefixtures("warehouse")
@pytest.mark.parametrize(
    ("table", "database", "message"),
    [
        ("missing", "warehouse.duckdb", "table missing does not exist in the database; fix "),
        ("events", "nope.duckdb", "the DuckDB database nope.duckdb does not exist; fix data[]"),
        ("events", "notes.duckdb", "notes.duckdb is not a DuckDB database"),
    ],
)
def test_a_missing_table_or_database_exits_2(
    cli: CliRunner, repository: Path, table: str, database: str, message: str
) -> None:
    status, output = ingest(cli, repository, table, database)
    assert status == ExitStatus.BAD_INPUT
    assert message in output
