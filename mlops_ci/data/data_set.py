"""One data set of the manifest checked where it lives: a file in the repository or at an
address read here, or a table or file that an engine (DuckDB, Spark) checks in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_ci.data.checks.outcome import DataSetReport
from mlops_ci.manifest.model import DataSet
from mlops_ci.ports import Meter


def check_data_set(data_set: DataSet, shown: str, meter: Meter | None = None) -> DataSetReport:
    """Every check of ``data_set``; ``shown`` is how messages name it."""
    if data_set.engine.kind != "local":
        from mlops_ci.data.engines.run import check_in_engine

        return check_in_engine(data_set, shown)
    from mlops_ci.data.checks.scan import check_table
    from mlops_ci.data.reader import open_table

    with _readable(data_set) as path:
        declared = dict(data_set.checks.columns)
        with open_table(path, shown, data_set.format, declared) as table:
            return check_table(table, data_set.name, data_set.checks, data_set.label, meter)


@contextmanager
def _readable(data_set: DataSet) -> Iterator[Path]:
    """The data set's file on this runner: its own, or a copy of the one at its address."""
    if data_set.path is not None:
        yield data_set.path
        return
    from mlops_ci.data.remote import local_copy

    with local_copy(data_set.url or "") as copy:  # the loader sets a path or a url here
        yield copy
