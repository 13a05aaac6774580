"""The manifest's JSON Schema (schemas/manifest.schema.json, shipped in the package)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "manifest.schema.json"


@cache
def manifest_schema() -> Mapping[str, Any]:
    """The manifest's JSON Schema, read once per process."""
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema
