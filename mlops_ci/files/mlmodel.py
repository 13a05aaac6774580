"""The signature of an MLflow model's MLmodel file: YAML whose ``signature.inputs`` and
``signature.outputs`` are JSON text, as MLflow writes them. The file comes with the model
files, so it is read as untrusted: bounded, safe YAML, every shape checked."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mlops_ci.core.signature import Field, Signature, mlflow_fields

_MAX_BYTES = 1 << 20  # an MLmodel file is a few kB; a larger one is no MLmodel file


def mlmodel_signature(path: Path) -> Signature | None:
    """The signature MLflow logged with the model, or None when it logged none. Raises
    ValueError with a sentence when the file is not what MLflow writes."""
    with path.open("rb") as handle:
        text = handle.read(_MAX_BYTES + 1)
    if len(text) > _MAX_BYTES:
        raise ValueError("is larger than 1 MiB")
    try:
        document = yaml.safe_load(text.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ValueError("is not YAML") from None
    if not isinstance(document, dict):
        raise ValueError("is not a YAML mapping")
    signature = document.get("signature")
    if signature is None:
        return None
    if not isinstance(signature, dict):
        raise ValueError("has a signature that is no mapping")
    sides: dict[str, tuple[Field, ...]] = {}
    for side in ("inputs", "outputs"):
        spec = signature.get(side)
        if spec is None:
            sides[side] = ()
            continue
        try:
            parsed = json.loads(spec) if isinstance(spec, str) else spec
        except ValueError:
            raise ValueError(f"has signature.{side} that is not JSON") from None
        sides[side] = mlflow_fields(parsed, side)
    return Signature(inputs=sides["inputs"], outputs=sides["outputs"])
