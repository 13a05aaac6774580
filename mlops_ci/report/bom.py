"""The image's ML bill of materials: a CycloneDX 1.6 document made with
cyclonedx-python-lib. The model is its main component, with a model card (the data sets it
was trained on, its metrics); the model files (with their sha256), the data sets (with
their fingerprints) and the image are its components; mlops-ci is the tool that made it.

The library has no model card yet, so the card is added to the document it writes; the
tests hold the whole to CycloneDX's schema with the library's validator. The same facts
give the same bytes (the serial number and the time come from them), so a re-run attests
nothing new.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops_ci.core.record_details import DataSetFingerprint

BOM_MEDIA_TYPE = "application/vnd.cyclonedx+json"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MODEL_REF = "model"


@dataclass(frozen=True)
class ModelFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class BomFacts:
    model: str
    version: str
    image: str  # the repository, registry included
    digest: str
    created: datetime
    tool_version: str
    files: Sequence[ModelFile] = ()
    data: Sequence[DataSetFingerprint] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    description: str | None = None


def ml_bom(facts: BomFacts) -> dict[str, Any]:
    """The BOM as a JSON document."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output.json import JsonV1Dot6

    files = [
        Component(
            type=ComponentType.FILE,
            name=file.path,
            bom_ref=f"file:{file.path}",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=file.sha256)]
            if _HEX64.fullmatch(file.sha256)
            else [],
            properties=[Property(name="mlops-ci:size", value=str(file.size))],
        )
        for file in facts.files
    ]
    data = [
        Component(
            type=ComponentType.DATA,
            name=data_set.name,
            bom_ref=f"data:{data_set.name}",
            hashes=[HashType(alg=HashAlgorithm.BLAKE3, content=data_set.blake3)]
            if _HEX64.fullmatch(data_set.blake3)
            else [],
            properties=[
                Property(name="mlops-ci:rows", value=str(data_set.rows)),
                Property(name="mlops-ci:schema-sha256", value=data_set.schema_sha256),
            ],
        )
        for data_set in facts.data
    ]
    algorithm, _, encoded = facts.digest.partition(":")
    image = Component(
        type=ComponentType.CONTAINER,
        name=facts.image,
        version=facts.digest,
        bom_ref="image",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=encoded)]
        if algorithm == "sha256" and _HEX64.fullmatch(encoded)
        else [],
    )
    model = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=facts.model,
        version=facts.version,
        bom_ref=_MODEL_REF,
        description=facts.description,
    )
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"mlops-ci:{facts.image}@{facts.digest}"),
        metadata=BomMetaData(
            component=model,
            timestamp=facts.created,
            tools=ToolRepository(
                components=[
                    Component(
                        type=ComponentType.APPLICATION,
                        name="mlops-ci",
                        version=facts.tool_version,
                    )
                ]
            ),
        ),
        components=[image, *files, *data],
    )
    bom.register_dependency(model, [*files, *data])
    bom.register_dependency(image, [model])
    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    document["metadata"]["component"]["modelCard"] = _model_card(facts)
    return document


def _model_card(facts: BomFacts) -> dict[str, object]:
    card: dict[str, object] = {
        "modelParameters": {"datasets": [{"ref": f"data:{d.name}"} for d in facts.data]}
    }
    if facts.metrics:
        card["quantitativeAnalysis"] = {
            "performanceMetrics": [
                {"type": name, "value": repr(value)}
                for name, value in sorted(facts.metrics.items())
            ]
        }
    return card
