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
