"""The signature of an MLmodel file as MLflow writes it, and files that are none."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mlops_ci.core.signature import Field, Signature
from mlops_ci.files.mlmodel import mlmodel_signature


def test_the_signature_mlflow_writes_is_read_field_by_field(tmp_path: Path) -> None:
    from mlflow.models import Model
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    columns = [("double", "a"), ("float", "b"), ("long", "c"), ("integer", "d")]
    columns += [("string", "e"), ("boolean", "f"), ("binary", "g")]
    signature = ModelSignature(
        inputs=Schema([ColSpec(kind, name) for kind, name in columns]),  # type: ignore[arg-type]
        outputs=Schema([TensorSpec(np.dtype("float64"), (-1, 2), "proba")]),
    )
    Model(signature=signature).save(str(tmp_path / "MLmodel"))
    assert mlmodel_signature(tmp_path / "MLmodel") == Signature(
        inputs=(
            Field("a", "float"),
            Field("b", "float"),
            Field("c", "int"),
            Field("d", "int"),
            Field("e", "string"),
            Field("f", "bool"),
            Field("g", "bytes"),
        ),
        outputs=(Field("proba", "tensor", (-1, 2)),),
    )


def test_a_model_logged_without_a_signature_has_none(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors: {}\nmlflow_version: 3.17.2\n")
    assert mlmodel_signature(tmp_path / "MLmodel") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("signature: [1\n", "is not YAML"),
        ("- a\n", "is not a YAML mapping"),
        ("signature: yes\n", "has a signature that is no mapping"),
        ("signature: {inputs: '[{'}\n", "has signature.inputs that is not JSON"),
        ("signature: {outputs: '{}'}\n", "signature.outputs is no list of fields"),
        ('signature: {inputs: \'[{"name": "x"}]\'}\n', "signature.inputs[0] has no type"),
        (
            'signature: {inputs: \'[{"name": "x", "type": "datetime"}]\'}\n',
            "signature.inputs[0] is of type 'datetime'",
        ),
        ("a: '" + "x" * (1 << 20) + "'\n", "is larger than 1 MiB"),
    ],
)
def test_a_file_that_is_no_mlmodel_is_refused_in_a_sentence(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        mlmodel_signature(tmp_path / "MLmodel")
