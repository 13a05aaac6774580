"""The data sets' rules a schema cannot say: a format read from the extension, and every
column a check names declared in ``checks.columns`` (a range only on numbers or dates)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.positions import JsonPath, quote, render_path
from mlops_ci.manifest.values import get_value as _get
from mlops_ci.manifest.values import items as _items
from mlops_ci.manifest.values import mapping as _mapping

# An issue at a path; key=True points at the key rather than the value.
Issue = Callable[..., ManifestIssue]

DATA_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_NUMERIC_COLUMN_TYPES = ("int", "float", "date", "datetime")


URL_SCHEMES = ("s3", "gs", "az", "https", "http")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_ENGINE_KEYS = {"database": "duckdb", "spark": "spark"}


def is_url(path: str) -> bool:
    """Whether a data set's path is an address (``s3://…``) rather than a file's path."""
    return _URL.match(path) is not None


def data_format(path: str, declared: object) -> str | None:
    """The data format: declared, else read from the extension (``.csv.gz`` counts; an
    address's query, such as a pre-signed URL's signature, does not)."""
    if isinstance(declared, str):
        return declared
    if is_url(path):
        path = path.split("?", 1)[0].split("#", 1)[0]
    suffixes = PurePosixPath(path.lower()).suffixes
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return DATA_EXTENSIONS.get(suffixes[-1]) if suffixes else None


def data_set_issues(data: Any, issue: Issue) -> Iterator[ManifestIssue]:
    """Each data set's format, and the columns its checks name against ``checks.columns``."""
    for index, data_set in _items(_get(data, "data")):
        here: JsonPath = ("data", index)
        yield from _where_it_lives(here, _mapping(data_set), issue)
        file = _get(data_set, "path")
        if isinstance(file, str) and data_format(file, _get(data_set, "format")) is None:
            yield issue(
                (*here, "path"),
                f"{render_path((*here, 'path'))}: cannot tell "
                f"the format of {quote(file)} from its extension; name it "
                ".csv, .parquet or .jsonl, or set format",
            )
        yield from _column_references(here, _mapping(data_set), issue)


def _where_it_lives(
    here: JsonPath, data_set: Mapping[str, Any], issue: Issue
) -> Iterator[ManifestIssue]:
    """A path or a table (a table only in an engine), an address of a scheme we read, and
    each engine's settings only with that engine."""
    engine = data_set.get("engine", "local")
    if "path" in data_set and "table" in data_set:
        yield issue(
            (*here, "table"),
            f"{render_path(here)} names both a path and a table; keep the one it is",
            key=True,
        )
    elif "path" not in data_set and "table" not in data_set:
        yield issue(
            here,
            f"{render_path(here)} names neither a path nor a table; add path: FILE "
            "(or table: NAME with engine: duckdb or spark)",
        )
    elif "table" in data_set and engine == "local":
        yield issue(
            (*here, "table"),
            f"{render_path((*here, 'table'))} is a table, which only an engine holds; "
            "add engine: duckdb or engine: spark, or give the file as path",
            key=True,
        )
    if "table" in data_set and "format" in data_set:
        yield issue(
            (*here, "format"),
            f"{render_path((*here, 'format'))} is a file's format, and a table has none; remove it",
            key=True,
        )
    for key, kind in _ENGINE_KEYS.items():
        if key in data_set and engine != kind:
            yield issue(
                (*here, key),
                f"{render_path((*here, key))} is a setting of engine: {kind}, and this "
                f"data set's engine is {engine}; remove it or set engine: {kind}",
                key=True,
            )
    if engine == "duckdb" and "table" in data_set and "database" not in data_set:
        yield issue(
            (*here, "table"),
            f"{render_path((*here, 'table'))}: an embedded DuckDB holds tables in a "
            "database file; add database: FILE",
            key=True,
        )
    address = data_set.get("path")
    if isinstance(address, str) and is_url(address):
        problem = _address_problem(address)
        if problem:
            yield issue((*here, "path"), f"{render_path((*here, 'path'))} {problem}")


def _address_problem(address: str) -> str | None:
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        return (
            f"is an address of {quote(scheme + '://')}, which mlops-ci does not read; "
            "use s3://, gs://, az:// or https://"
        )
    if "@" in parts.netloc:
        return (
            "holds a user or password; take them out and set them in the environment "
            "(everyone who reads the repository reads the manifest)"
        )
    if scheme == "http" and (parts.hostname or "") not in _LOOPBACK:
        return "is a plain http:// address, which anyone on the way can change; use https://"
    if not parts.netloc or parts.path.strip("/") == "":
        return "names no file after the bucket or host; add the file's path"
    return None


def _column_references(
    here: JsonPath, data_set: Mapping[str, Any], issue: Issue
) -> Iterator[ManifestIssue]:
    checks = _mapping(data_set.get("checks"))
    label = data_set.get("label")
    if "labels" in checks and not isinstance(label, str):
        yield issue(
            (*here, "checks", "labels"),
            f"{render_path((*here, 'checks'))}"
            ".labels checks the label column, but the data set names none; "
            "add label: COLUMN",
            key=True,
        )
    columns = _mapping(checks.get("columns"))
    if not columns:
        return
    references: list[tuple[JsonPath, str]] = []
    if isinstance(label, str):
        references.append(((*here, "label"), label))
    for check in ("not_null", "unique"):
        references += [
            ((*here, "checks", check, i), c)
            for i, c in _items(checks.get(check))
            if isinstance(c, str)
        ]
    for check in ("range", "allowed"):
        references += [((*here, "checks", check, c), c) for c in _mapping(checks.get(check))]
    balance = _mapping(checks.get("balance"))
    if isinstance(balance.get("column"), str):
        references.append(((*here, "checks", "balance", "column"), balance["column"]))
    references += [
        ((*here, "checks", "balance", "sensitive", i), c)
        for i, c in _items(balance.get("sensitive"))
        if isinstance(c, str)
    ]
    references += [
        ((*here, "checks", "pii", "hashed", i), c)
        for i, c in _items(_mapping(checks.get("pii")).get("hashed"))
        if isinstance(c, str)
    ]
    for path, column in references:
        if column not in columns:
            yield issue(
                path,
                f"{render_path(path)} names the column {quote(column)}, "
                f"which checks.columns does not declare (declared: "
                f"{', '.join(columns)})",
                key=isinstance(path[-1], str) and path[-1] == column,
            )
    for column in _mapping(checks.get("range")):
        kind = columns.get(column)
        if kind is not None and kind not in _NUMERIC_COLUMN_TYPES:
            path = (*here, "checks", "range", column)
            yield issue(
                path,
                f"{render_path(path)}: the column {quote(column)} is "
                f"declared {kind}, and a range needs numbers or dates",
                key=True,
            )
