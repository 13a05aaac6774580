"""A data set in an embedded DuckDB: a file it reads (CSV, Parquet, JSON lines; gzip too)
or a table of a database file. CSV columns are typed as the local reader types them (the
declared ones as declared, every other one as text), so both see the same schema."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from mlops_ci.core.pii import shown
from mlops_ci.data.engines.sql import NUMBERED, ROW, SOURCE
from mlops_ci.data.file_problems import DataFileError, column_name, first_line
from mlops_ci.errors import UsageError
from mlops_ci.manifest.model import ColumnType, DataFormat

_FETCH = 10_000
_DUCKDB_TYPES: dict[ColumnType, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
_POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
    "SMALLINT": pl.Int16(),
    "TINYINT": pl.Int8(),
    "UBIGINT": pl.UInt64(),
    "UINTEGER": pl.UInt32(),
    "USMALLINT": pl.UInt16(),
    "UTINYINT": pl.UInt8(),
    "DOUBLE": pl.Float64(),
    "FLOAT": pl.Float32(),
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "TIMESTAMP_NS": pl.Datetime("ns"),
    "TIMESTAMP_MS": pl.Datetime("ms"),
    "BLOB": pl.Binary(),
    '"NULL"': pl.Null(),  # a JSON column with no value yet
}
_CONVERSION = re.compile(
    r'Line: (\d+).*?converting column "([^"]+)"\. Could not convert string "(.*?)" to',
    re.DOTALL,
)


class DuckDbSource:
    """The views of sql.py over one file or table, in a connection of its own."""

    dialect = "duckdb"

    def __init__(
        self,
        name: str,
        *,
        file: Path | None = None,
        file_format: DataFormat = "csv",
        table: str | None = None,
        database: Path | None = None,
        declared: Mapping[str, ColumnType] | None = None,
    ) -> None:
        try:
            import duckdb
        except ImportError:
            raise UsageError("engine: duckdb needs DuckDB; install mlops-ci[duckdb]") from None

        self.name = name
        self._duckdb = duckdb
        if database is not None and not database.is_file():
            raise DataFileError(
                f"{name}: the DuckDB database {database.name} does not exist; "
                "fix data[].database in the manifest"
            )
        try:
            self._connection = (
                duckdb.connect(str(database), read_only=True)
                if database is not None
                else duckdb.connect()
            )
        except duckdb.Error as error:
            raise DataFileError(
                f"{name}: {database} is not a DuckDB database ({first_line(str(error))})"
            ) from None
        # Parquet statistics leave NaN out, and DuckDB trusts them: with these on, it
        # folds isnan() and comparisons to false on a column whose NaN the stats missed.
        self._execute("SET disabled_optimizers = 'statistics_propagation,filter_pushdown'")
        if table is not None:
            self._define(_quoted_table(table), "", table)
        else:
            file = file or Path()
            text_columns = self._json_columns(file) if file_format == "jsonl" else ""
            # A declared column the file lacks would fail the typed read with DuckDB's
            # words; untyped here, check_source names it as the local reader does.
            typed = dict(declared or {})
            if file_format != "parquet":  # Parquet's columns are typed by the file itself
                untyped, _ = _reader(file, file_format, {}, text_columns)
                described = f"DESCRIBE SELECT * FROM {untyped}"  # noqa: S608
                present = {row[0] for row in self._execute(described).fetchall()}
                typed = {c: k for c, k in typed.items() if c in present}
            reader, replace = _reader(file, file_format, typed, text_columns)
            self._define(reader, replace, None)

    def _json_columns(self, file: Path) -> str:
        """``columns = {…}`` for read_json: the types DuckDB infers, but text for what it
        would read as dates, times or UUIDs, as polars reads a JSON string locally."""
        inferred = self._execute(
            f"DESCRIBE SELECT * FROM read_json({_string(str(file))}, format = 'newline_delimited')"  # noqa: S608
        ).fetchall()
        types = ", ".join(
            f"{_string(row[0])}: {_string(_TEXT_READ_AS.sub('VARCHAR', str(row[1])))}"
            for row in inferred
        )
        return f", columns = {{{types}}}"

    # The views are text: DuckDB's table functions and WITH ORDINALITY have no sqlglot
    # form, and every name and path in them is quoted by _quoted and _string.
    def _define(self, relation: str, replace: str, table: str | None) -> None:
        """The views over ``relation``, with ``replace`` (``REPLACE (…)``) typing columns."""
        try:
            self._execute(f"CREATE TEMP VIEW {SOURCE} AS SELECT * {replace} FROM {relation}")  # noqa: S608
        except self._duckdb.CatalogException:
            raise DataFileError(
                f"{self.name} does not exist in the database; fix data[].table "
                "(or create the table)"
            ) from None
        columns = [row[0] for row in self._execute(f"DESCRIBE {SOURCE}").fetchall()]
        if table is not None:
            # A table's rows in the order they were added (DuckDB's rowid).
            numbered = f"SELECT *, rowid + 1 AS {ROW} FROM {relation}"  # noqa: S608
        else:
            names = ", ".join(_quoted(c) for c in [*columns, ROW])
            numbered = f"SELECT * {replace} FROM {relation} WITH ORDINALITY AS numbered({names})"  # noqa: S608
        self._execute(f"CREATE TEMP VIEW {NUMBERED} AS {numbered}")

    def schema(self) -> Mapping[str, pl.DataType]:
        described = self._execute(f"DESCRIBE {SOURCE}").fetchall()
        return {row[0]: _POLARS_TYPES.get(str(row[1]), pl.Object()) for row in described}

    def rows(self, sql: str) -> Iterator[tuple[Any, ...]]:
        cursor = self._execute(sql)
        while True:
            try:
                batch = cursor.fetchmany(_FETCH)
            except self._duckdb.Error as error:
                raise DataFileError(self._explain(error)) from None
            if not batch:
                return
            yield from batch

    def close(self) -> None:
        self._connection.close()

    def _execute(self, sql: str) -> Any:
        try:
            return self._connection.execute(sql)
        except self._duckdb.CatalogException:
            raise
        except self._duckdb.Error as error:
            raise DataFileError(self._explain(error)) from None

    def _explain(self, error: Exception) -> str:
        """DuckDB's error in a sentence: its own text quotes the value whole, which may be
        personal data, so a value shown is masked as the local reader masks it."""
        text = str(error)
        conversion = _CONVERSION.search(text)
        if conversion:
            line, column, value = conversion.groups()
            return (
                f"{self.name}: column {column_name(column)} is declared of another type, "
                f"but row {int(line) - 1} holds {shown(value)}; fix the value or the "
                "type in checks.columns"
            )
        if isinstance(error, self._duckdb.IOException):
            return f"{self.name} cannot be read: {_without_values(text)}"
        return f"{self.name} cannot be checked in DuckDB: {_without_values(text)}"


def _reader(
    file: Path, file_format: DataFormat, declared: Mapping[str, ColumnType], json_columns: str
) -> tuple[str, str]:
    """The table function that reads ``file``, and the REPLACE that types its columns."""
    path = _string(str(file))
    if file_format == "parquet":
        return f"read_parquet({path})", ""
    types = "{" + ", ".join(f"{_string(c)}: '{_DUCKDB_TYPES[k]}'" for c, k in declared.items())
    types += "}"
    if file_format == "csv":
        # RFC 4180 as polars reads it, rather than a dialect sniffed from a sample.
        options = "header = true, delim = ',', quote = '\"', escape = '\"'"
        return f"read_csv({path}, all_varchar = true, types = {types}, {options})", ""
    lines = f"read_json({path}, format = 'newline_delimited'{json_columns})"
    if not declared:
        return lines, ""
    # Undeclared columns keep the types DuckDB infers, as polars infers them locally.
    return lines, f"REPLACE ({', '.join(_cast(c, k) for c, k in declared.items())})"


# The types DuckDB infers from a JSON string's text (within a STRUCT or a list too).
_TEXT_READ_AS = re.compile(
    r"\b(?:TIMESTAMP WITH TIME ZONE|TIME WITH TIME ZONE|TIMESTAMP_[A-Z]+|TIMESTAMP|DATE"
    r"|TIME|UUID|INTERVAL)\b"
)


def _cast(column: str, kind: ColumnType) -> str:
    return f"CAST({_quoted(column)} AS {_DUCKDB_TYPES[kind]}) AS {_quoted(column)}"


def _quoted_table(table: str) -> str:
    return ".".join(_quoted(part) for part in table.split("."))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _without_values(text: str) -> str:
    """The first line of an engine's error, with what it quotes taken out."""
    return re.sub(r'"[^"]*"|\'[^\']*\'', "…", first_line(text))
