"""A list of files' sha256 digests as ``sha256sum`` writes it and ``sha256sum -c`` reads
it: the image's ``/model.sha256``, and the one digest the run report gives a build."""

from __future__ import annotations

from collections.abc import Iterable


def sha256sum_listing(files: Iterable[tuple[str, str]]) -> str:
    """``(sha256, path)`` pairs as lines (paths are checked names: no line breaks, no
    backslashes)."""
    return "".join(f"{sha256}  {path}\n" for sha256, path in files)
