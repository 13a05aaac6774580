"""The data sets' rules a schema cannot say: a format read from the extension, and every
column a check names declared in ``checks.columns`` (a range only on numbers or dates)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

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


def data_format(path: str, declared: object) -> str | None:
    """The data format: declared, else read from the extension (``.csv.gz`` counts)."""
    if isinstance(declared, str):
        return declared
    suffixes = PurePosixPath(path.lower()).suffixes
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return DATA_EXTENSIONS.get(suffixes[-1]) if suffixes else None


def data_set_issues(data: Any, issue: Issue) -> Iterator[ManifestIssue]:
    """Each data set's format, and the columns its checks name against ``checks.columns``."""
    for index, data_set in _items(_get(data, "data")):
        here: JsonPath = ("data", index)
        file = _get(data_set, "path")
        if isinstance(file, str) and data_format(file, _get(data_set, "format")) is None:
            yield issue(
                (*here, "path"),
                f"{render_path((*here, 'path'))}: cannot tell "
                f"the format of {quote(file)} from its extension; name it "
                ".csv, .parquet or .jsonl, or set format",
            )
        yield from _column_references(here, _mapping(data_set), issue)


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
