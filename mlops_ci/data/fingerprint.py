"""A data set's fingerprint, for lineage: the sha256 of its bytes and its schema.

The file is hashed on a thread of its own while the checks read it: hashlib lets go of the
GIL, and the bytes are in the page cache by then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    bytes: int
    rows: int
    schema: tuple[tuple[str, str], ...]

    @property
    def schema_sha256(self) -> str:
        text = json.dumps([list(column) for column in self.schema], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "bytes": self.bytes,
            "rows": self.rows,
            "schema": dict(self.schema),
            "schema_sha256": self.schema_sha256,
        }


def hash_in_background(path: Path) -> Future[str]:
    """The sha256 of ``path``, computed on another thread."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-ci-sha256")
    future = pool.submit(_sha256, path)
    pool.shutdown(wait=False)
    return future


def fingerprint(
    path: Path, digest: Future[str], rows: int, schema: Mapping[str, object]
) -> Fingerprint:
    return Fingerprint(
        sha256=digest.result(),
        bytes=path.stat().st_size,
        rows=rows,
        schema=tuple((name, str(kind)) for name, kind in schema.items()),
    )


def _sha256(path: Path) -> str:
    # Read, not memory-mapped: mapped pages of a big file would count as the process's
    # resident memory and make it grow with the file.
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
