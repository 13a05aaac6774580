"""The embedded SQLite store, made and migrated whole or not at all.

MLflow makes a missing store's tables, and migrates them, in whichever process opens it
first, with nothing to stop a second process doing the same at once: two first runs in a
fresh repository leave a half-migrated file that no later run can open. So one process at a
time (a lock beside the file) makes the store under another name and moves it into place,
or migrates a copy and moves that into place: the file at the store's name is always one
MLflow made whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from mlops_ci.adapters.mlflow_connection import TrackingError
from mlops_ci.files.locks import held_lock

log = logging.getLogger(__name__)

_MLFLOW_TABLES = {"alembic_version", "experiments", "runs"}


def ready_embedded_store(path: Path) -> None:
    """Makes the store at ``path`` if it is missing, or migrates it if MLflow's schema moved
    on, each as one step; a half-made file that holds no run is made again."""
    if path.exists() and _revision(path) == _head_revision():
        return  # as it is on every open but the first after an MLflow upgrade
    with held_lock(path.with_name(path.name + ".lock")):
        if path.exists() and _revision(path) == _head_revision():
            return  # another process made or migrated it while this one waited
        if path.exists() and _half_made(path):
            # Left half-made (a crash, or two processes before this lock): nothing to keep.
            log.info("the embedded MLflow store %s was half-made; making it again", path)
            path.unlink()
        if path.exists() and not _mlflow_tables(path):
            raise TrackingError(
                f"{path} is not an MLflow store (it holds none of MLflow's tables), and "
                "mlops-ci leaves it as it is; name another file in tracking.mlflow.tracking_uri"
            )
        if path.exists():
            with _beside(path) as copy:
                _copy(path, copy)
                _migrate(copy, path)
                os.replace(copy, path)
        else:
            with _beside(path) as fresh:
                _make(fresh)
                os.replace(fresh, path)


def _head_revision() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())  # type: ignore[no-untyped-call]


def _revision(path: Path) -> str | None:
    """The schema revision alembic stamped into the file, or None (no stamp, not SQLite)."""
    rows = _read(path, "SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def _half_made(path: Path) -> bool:
    """Whether the file is an MLflow store begun and never finished, holding no run: an
    empty file, or some of MLflow's tables without a row of runs. A file of anything else
    is never touched."""
    if path.stat().st_size == 0:
        return True
    tables = _mlflow_tables(path)
    if not tables:
        return False
    return "runs" not in tables or _read(path, "SELECT 1 FROM runs LIMIT 1") == []


def _mlflow_tables(path: Path) -> set[str]:
    """Which of the tables every MLflow store has the file holds (none: not SQLite)."""
    rows = _read(path, "SELECT name FROM sqlite_master") or []
    return {str(row[0]) for row in rows} & _MLFLOW_TABLES


def _read(path: Path, query: str) -> list[tuple[object, ...]] | None:
    """The rows ``query`` finds in the file, opened read-only; None when it cannot be
    asked (not SQLite, no such table)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute(query).fetchall()
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def _beside(path: Path) -> Iterator[Path]:
    """A name next to ``path`` for a file moved into place; removed if it never is."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    temporary.unlink(missing_ok=True)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def _make(path: Path) -> None:
    """A store MLflow makes itself (tables, migrations, the default experiment)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(  # type: ignore[no-untyped-call]
        f"sqlite:///{path}", path.parent.joinpath("mlruns").as_uri()
    )
    store.engine.dispose()


def _copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as old,
        contextlib.closing(sqlite3.connect(target)) as new,
    ):
        old.backup(new)


def _migrate(path: Path, shown: Path) -> None:
    from mlflow.store.db.utils import _upgrade_db, create_sqlalchemy_engine

    engine = create_sqlalchemy_engine(f"sqlite:///{path}")  # type: ignore[no-untyped-call]
    try:
        _upgrade_db(engine)  # type: ignore[no-untyped-call]
    except Exception as error:  # alembic's and SQLAlchemy's errors have no common base
        raise TrackingError(
            f"the embedded MLflow store {shown} cannot be migrated to this MLflow's schema "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}); "
            "move it aside and run mlops-ci sync to fill a new one from the records in git"
        ) from None
    finally:
        engine.dispose()
