"""A data set checked by its engine: the engine's source made, the checks run in it as SQL,
and the report the local scan would give (a file's fingerprint as the local one, a
table's without a digest: a table is no file)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_ci.data.checks.outcome import DataSetReport
from mlops_ci.data.engines.sql import SqlSource, check_source, profile_source
from mlops_ci.data.file_problems import DataFileError, not_a_file_problem
from mlops_ci.data.fingerprint import Fingerprint, check_unchanged, data_blake3, identity_of
from mlops_ci.manifest.model import DataSet


def check_in_engine(data_set: DataSet, shown: str) -> DataSetReport:
    with _file(data_set, shown) as file:
        before = identity_of(file) if file is not None else None
        with _source(data_set, shown, file) as source:
            rows, outcomes = check_source(source, data_set.format, data_set.checks, data_set.label)
            profile = profile_source(source, rows)
            schema = tuple((name, str(kind)) for name, kind in source.schema().items())
            digest, size = data_blake3(file) if file is not None else (None, None)
        if file is not None and before is not None:
            check_unchanged(file, shown, before)
    return DataSetReport(
        name=data_set.name,
        file=shown,
        rows=rows,
        fingerprint=Fingerprint(blake3=digest, bytes=size, rows=rows, schema=schema),
        outcomes=tuple(outcomes),
        profile=profile,
    )


@contextmanager
def _file(data_set: DataSet, shown: str) -> Iterator[Path | None]:
    """The file the engine reads on this runner (a copy of one at an address), or None
    for a table."""
    if data_set.table is not None:
        yield None
    elif data_set.path is not None:
        problem = not_a_file_problem(data_set.path, shown)
        if problem:
            raise DataFileError(problem)
        if data_set.path.stat().st_size == 0:
            raise DataFileError(f"{shown} is empty; a data set needs at least one row")
        yield data_set.path
    else:
        from mlops_ci.data.remote import local_copy

        with local_copy(data_set.url or "") as copy:
            yield copy


@contextmanager
def _source(data_set: DataSet, shown: str, file: Path | None) -> Iterator[SqlSource]:
    declared = dict(data_set.checks.columns)
    source: SqlSource
    if data_set.engine.kind == "duckdb":
        from mlops_ci.data.engines.duckdb_source import DuckDbSource

        source = DuckDbSource(
            shown,
            file=file,
            file_format=data_set.format,
            table=data_set.table,
            database=data_set.engine.database,
            declared=declared,
        )
    else:
        from mlops_ci.data.engines.spark_source import SparkSource

        source = SparkSource(
            shown,
            file=file,
            file_format=data_set.format,
            table=data_set.table,
            declared=declared,
            master=data_set.engine.master,
            remote=data_set.engine.remote,
        )
    try:
        yield source
    finally:
        source.close()
