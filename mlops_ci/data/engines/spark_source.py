"""A data set in Spark: a table of its catalog, or a file it reads (CSV, Parquet, JSON
lines; gzip too). The cluster is ``data[].spark`` of the manifest, else ``SPARK_REMOTE``
(Spark Connect) or ``MLOPS_CI_SPARK_MASTER`` from the environment, else local mode on this
runner. CSV columns are typed as the local reader types them."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from mlops_ci.data.engines.sql import NUMBERED, ROW, SOURCE
from mlops_ci.data.file_problems import DataFileError, check_csv_header
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.manifest.model import ColumnType, DataFormat, shown_url

_SPARK_TYPES: dict[ColumnType, str] = {
    "string": "string",
    "int": "bigint",
    "float": "double",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp_ntz",
}
_POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "bigint": pl.Int64(),
    "int": pl.Int32(),
    "smallint": pl.Int16(),
    "tinyint": pl.Int8(),
    "double": pl.Float64(),
    "float": pl.Float32(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "timestamp_ntz": pl.Datetime("us"),
    "binary": pl.Binary(),
    "void": pl.Null(),  # a JSON column with no value yet
}
_MISSING = re.compile(r"TABLE_OR_VIEW_NOT_FOUND|PATH_NOT_FOUND|Path does not exist")


class SparkSource:
    """The views of sql.py in a Spark session."""

    dialect = "spark"

    def __init__(
        self,
        name: str,
        *,
        file: Path | None = None,
        file_format: DataFormat = "csv",
        table: str | None = None,
        declared: Mapping[str, ColumnType] | None = None,
        master: str | None = None,
        remote: str | None = None,
    ) -> None:
        self.name = name
        remote = remote or (None if master else os.environ.get("SPARK_REMOTE"))
        self._connected = remote is not None
        self._spark = (
            _connect_session(name, remote) if remote is not None else _session(name, master)
        )
        self._errors = _error_types()
        try:
            frame = (
                self._spark.table(table)
                if table is not None
                else self._read(file or Path(), file_format, declared or {})
            )
            frame.createOrReplaceTempView(SOURCE)
            # A table's or a file's rows in the order Spark reads them (file splits in
            # order, each in order); only a failed check reads this view.
            self._spark.sql(
                f"CREATE OR REPLACE TEMP VIEW {NUMBERED} AS SELECT *, row_number() OVER "  # noqa: S608
                f"(ORDER BY monotonically_increasing_id()) AS {ROW} FROM {SOURCE}"
            )
            self._schema = {
                field.name: _POLARS_TYPES.get(field.dataType.simpleString(), pl.Object())
                for field in frame.schema.fields
            }
        except self._errors as error:
            if self._connected:
                self._spark.stop()
            raise DataFileError(self._explain(error)) from None

    def _read(self, file: Path, file_format: DataFormat, declared: Mapping[str, ColumnType]) -> Any:
        # pyspark's common functions pick Connect by an environment variable the
        # session here does not set (see _connect_session).
        from pyspark.sql import functions as classic_functions

        functions: Any = classic_functions
        if self._connected:
            from pyspark.sql.connect import functions as connect_functions

            functions = connect_functions

        # RFC 4180 as polars reads it: a quote inside a field is doubled.
        reader = self._spark.read.option("mode", "FAILFAST").option("escape", '"')
        if file_format == "parquet":
            frame = reader.parquet(str(file))
        elif file_format == "csv":
            if file.suffix != ".gz":
                check_csv_header(file, self.name)
            header = reader.option("header", True).csv(str(file)).columns
            schema = ", ".join(
                f"{_quoted(c)} {_SPARK_TYPES[declared.get(c, 'string')]}" for c in header
            )
            # A quoted empty field is missing too, as in the local reader.
            frame = (
                reader.option("header", True)
                .option("emptyValue", None)
                .option("timestampNTZFormat", "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]")
                .schema(schema)
                .csv(str(file))
            )
        else:
            # Spark types a column with no value as text; polars (and DuckDB) as null.
            inferred = reader.option("dropFieldIfAllNull", True).json(str(file))
            # Spark sorts the columns it infers; the local reader keeps the file's order.
            order = _json_order(file, inferred.columns)
            frame = _with_empty_texts(reader, file, inferred, order, functions)
            frame = frame.select(
                *(
                    functions.col(_quoted(c))
                    if c in frame.columns
                    else functions.lit(None).alias(c)
                    for c in order
                )
            )
        casts = [c for c in declared if c in frame.columns]
        if file_format != "csv" and casts:
            frame = frame.withColumns(
                {c: functions.col(_quoted(c)).cast(_SPARK_TYPES[declared[c]]) for c in casts}
            )
        return frame

    def schema(self) -> Mapping[str, pl.DataType]:
        return self._schema

    def rows(self, sql: str) -> Iterator[tuple[Any, ...]]:
        try:
            found = self._spark.sql(sql).toLocalIterator()
            for row in found:
                yield tuple(row)
        except self._errors as error:
            raise DataFileError(self._explain(error)) from None

    def close(self) -> None:
        for view in (NUMBERED, SOURCE):
            self._spark.catalog.dropTempView(view)
        if self._connected:
            self._spark.stop()  # the server keeps a session until it is told

    def _explain(self, error: Exception) -> str:
        """Spark's error in a sentence; its own text may quote a record whole, which may
        hold personal data, so none of it is shown but its error class."""
        text = str(error)
        if _MISSING.search(text):
            return f"{self.name} does not exist in Spark; fix data[].table or data[].path"
        if "Malformed" in text or "CAST" in text or "cannot be cast" in text.lower():
            return (
                f"{self.name} holds a value that is not of the type checks.columns declares "
                "(Spark does not say which); check the file, or the types in checks.columns"
            )
        kind = re.search(r"\[([A-Z_]+)\]", text)
        named = kind.group(1) if kind else type(error).__name__
        return f"{self.name} cannot be checked in Spark ({named}); see Spark's log above"


def _quoted(column: str) -> str:
    """A column's name as Spark reads it whole, dots and backticks included."""
    return "`" + column.replace("`", "``") + "`"


def _with_empty_texts(
    reader: Any, file: Path, inferred: Any, order: list[str], functions: Any
) -> Any:
    """``inferred`` with the columns Spark dropped as empty that hold text: Spark's
    inference takes "" for no value, where the local reader (and DuckDB) read text."""
    from pyspark.sql.types import StringType, StructField, StructType

    dropped = [c for c in order if c not in inferred.columns]
    if not dropped:
        return inferred
    schema = StructType(
        [*inferred.schema.fields, *(StructField(c, StringType(), True) for c in dropped)]
    )
    whole = reader.schema(schema).json(str(file))
    counts = whole.select(*(functions.count(functions.col(_quoted(c))) for c in dropped)).first()
    empty = [c for c, count in zip(dropped, counts, strict=True) if not count]
    return whole.drop(*empty) if empty else whole


def _json_order(file: Path, columns: list[str]) -> list[str]:
    """The columns in the order the file's first records name them, as polars infers,
    with those only Spark saw (``columns``) after them."""
    opener = gzip.open if file.suffix == ".gz" else open
    seen: dict[str, None] = {}
    with opener(file, "rt", encoding="utf-8", errors="replace") as lines:
        for line in itertools.islice(lines, 1000):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                seen.update(dict.fromkeys(record))
    # A column the records name but Spark dropped holds no value anywhere.
    return list(seen) + [c for c in columns if c not in seen]


def _session(name: str, master: str | None) -> Any:
    """The Spark session of a cluster's master, or of local mode."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("engine: spark needs pyspark; install mlops-ci[spark]") from None
    master = master or os.environ.get("MLOPS_CI_SPARK_MASTER") or "local[*]"
    try:
        session = (
            SparkSession.builder.appName("mlops-ci ingest")
            .master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.ansi.enabled", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as error:  # Spark's start-up fails in many ways; none is ours to keep
        # Spark's text may hold the address, which may hold a user and password.
        shown = shown_url(master) if "://" in master else master
        raise ServiceError(
            f"{name}: the master {shown} did not start a session "
            f"({type(error).__name__}); check that it is reachable from this runner"
        ) from None


def _connect_session(name: str, remote: str) -> Any:
    """A new Spark Connect session of its own, tried once: its client retries for ten
    minutes by default, and at exit again, so a server that is down would hold the job
    that long. pyspark's common builder is not used: it would hand back the session of
    another data set's server, and it turns this whole process to Connect mode, so a
    later data set in local mode would fail."""
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies()
        from pyspark.sql.connect.client.retries import DefaultPolicy
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:
        raise UsageError(
            "engine: spark with a Spark Connect server needs its client (grpcio); "
            "install mlops-ci[spark]"
        ) from None
    session: Any = None
    try:
        session = ConnectSession.builder.remote(remote).create()
        # About 4 s of attempts (50 ms, 0.2 s, 0.8 s, 3.2 s) rather than 10 minutes.
        retries = DefaultPolicy(max_retries=4, max_backoff=5000)
        session.client.set_retry_policies([retries])
        with warnings.catch_warnings():
            # The client warns once its retries run out; the error below says it whole.
            warnings.simplefilter("ignore", UserWarning)
            session.version  # noqa: B018 (the first call to the server: is it there?)
        session.conf.set("spark.sql.session.timeZone", "UTC")
        session.conf.set("spark.sql.ansi.enabled", "false")
        return session
    except Exception as error:  # the client's errors, gRPC's and its retries' alike
        if session is not None:
            session.client.close()  # or its clean-up at exit tries the server again
        # The address may carry a token (sc://host/;token=…), so it is not quoted.
        raise ServiceError(
            f"{name}: the Spark Connect server did not answer ({type(error).__name__}); "
            "check SPARK_REMOTE or data[].spark.remote and that the server is reachable "
            "from this runner"
        ) from None


def _error_types() -> tuple[type[Exception], ...]:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)
