"""Edits of a manifest that change one value's bytes and nothing else (comments, quotes,
order and blank lines stay): what a release pull request does to ``model.version``."""

from __future__ import annotations

from mlops_ci.deploy.text import (
    DeployFileError,
    apply_splices,
    quoted,
    scalar_extent,
    value_splice,
)
from mlops_ci.manifest.source import parse_source


def set_model_version(text: str, file: str, version: str) -> str:
    """``text`` with ``model.version`` set to ``version``; the same text when it already is."""
    document = parse_source(text.encode(), file)
    model = document.data.get("model") if isinstance(document.data, dict) else None
    if not isinstance(model, dict) or "version" not in model:
        raise DeployFileError(f"{file} has no model.version to set; add it (e.g. 0.1.0)")
    if str(model["version"]) == version:
        return text
    where = document.position(("model", "version"))
    line, column = where.line - 1, where.column - 1
    row = text.split("\n")[line]
    flow = row.lstrip().startswith(("-", "{")) or "{" in row[:column]
    end, quote = scalar_extent(row, column, flow=flow)
    if end < 0:
        raise DeployFileError(f"{file}:{where.line}: model.version spans lines; write it on one")
    return apply_splices(text, [value_splice(row, line, column, end, quoted(version, quote))])
