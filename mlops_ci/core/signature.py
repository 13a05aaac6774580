"""A model's interface: the fields it takes and gives (``model.signature``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["float", "int", "string", "bool", "bytes", "tensor"]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Field, ...] = ()
    outputs: tuple[Field, ...] = ()


def output_mismatches(declared: tuple[Field, ...], sample: object) -> list[str]:
    """What a sample prediction (an object of output name to value, as the model gave it)
    does against ``declared``, each in a sentence that names the field; empty when it fits.
    The sample is the model's own output: untrusted, so any JSON value is taken."""
    if not isinstance(sample, dict):
        return [f"the sample prediction is {_json_kind(sample)}, not an object of outputs"]
    problems = []
    for field in declared:
        if field.name not in sample:
            problems.append(
                f"the model gives no output {field.name!r} (model.signature.outputs declares it)"
            )
        elif not _fits(sample[field.name], field):
            problems.append(
                f"output {field.name!r} is {_json_kind(sample[field.name])}, "
                f"not the {field.type} model.signature.outputs declares"
                + (f" (shape {list(field.shape)})" if field.shape is not None else "")
            )
    names = {field.name for field in declared}
    for name in sample:
        if name not in names:
            shown = name if len(name) <= 80 else name[:77] + "..."
            problems.append(
                f"the model gives output {shown!r}, which model.signature.outputs does not "
                "declare; declare it (an added output is a minor change)"
            )
    return problems


def _fits(value: object, field: Field) -> bool:
    if field.type == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if field.type == "float":
        return isinstance(value, int | float)
    if field.type == "int":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if field.type in ("string", "bytes"):  # JSON carries bytes as text (base64)
        return isinstance(value, str)
    return _has_shape(value, field.shape)


def _has_shape(value: object, shape: tuple[int, ...] | None) -> bool:
    """A tensor: nested lists of numbers, each level of the declared size (-1: any)."""
    if shape is None:
        return isinstance(value, list | int | float) and not isinstance(value, bool)
    if not shape:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, list) or (shape[0] != -1 and len(value) != shape[0]):
        return False
    return all(_has_shape(item, shape[1:]) for item in value)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object"


# MLflow's column types as model.signature names them.
_MLFLOW_TYPES: dict[str, FieldType] = {
    "double": "float",
    "float": "float",
    "long": "int",
    "integer": "int",
    "string": "string",
    "boolean": "bool",
    "binary": "bytes",
    "tensor": "tensor",
}


def mlflow_fields(spec: object, side: str) -> tuple[Field, ...]:
    """The fields of one side of an MLmodel file's signature (the list MLflow writes as
    JSON); a field of no type MLflow or mlops-ci knows is refused by name."""
    if not isinstance(spec, list):
        raise ValueError(f"signature.{side} is no list of fields")
    fields = []
    for number, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ValueError(f"signature.{side}[{number}] has no type")
        name = item.get("name")
        kind = _MLFLOW_TYPES.get(item["type"])
        if kind is None:
            raise ValueError(f"signature.{side}[{number}] is of type {item['type'][:40]!r}")
        shape = (item.get("tensor-spec") or {}).get("shape") if kind == "tensor" else None
        fields.append(
            Field(
                name if isinstance(name, str) else f"#{number}",
                kind,
                tuple(shape) if isinstance(shape, list) and all(_whole(n) for n in shape) else None,
            )
        )
    return tuple(fields)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def signature_mismatches(declared: Signature, logged: Signature) -> list[str]:
    """``model.signature`` against the signature the model files carry (an MLmodel file),
    side by side, each mismatch a sentence that names the field."""
    problems = []
    for side in ("inputs", "outputs"):
        mine = {f.name: f for f in getattr(declared, side)}
        theirs = {f.name: f for f in getattr(logged, side)}
        for name, field in mine.items():
            other = theirs.get(name)
            if other is None:
                problems.append(
                    f"the MLmodel file has no {side[:-1]} {name!r} "
                    f"(model.signature.{side} declares it)"
                )
            elif other.type != field.type or (
                field.shape is not None and other.shape != field.shape
            ):
                problems.append(
                    f"{side[:-1]} {name!r} is {_field_text(other)} in the MLmodel file, "
                    f"not the {_field_text(field)} model.signature.{side} declares"
                )
        problems += [
            f"the MLmodel file has {side[:-1]} {name[:80]!r}, which model.signature.{side} "
            "does not declare; declare it"
            for name in theirs
            if name not in mine
        ]
    return problems


def _field_text(field: Field) -> str:
    return field.type + (f" of shape {list(field.shape)}" if field.shape is not None else "")
