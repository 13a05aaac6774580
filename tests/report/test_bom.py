"""The ML-BOM held to CycloneDX 1.6's schema by cyclonedx-python-lib's own validator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from mlops_ci.core.record_details import DataSetFingerprint
from mlops_ci.report.bom import BomFacts, ModelFile, ml_bom

FACTS = BomFacts(
    model="churn",
    version="1.2.0-rc.1",
    image="registry.example/acme/churn",
    digest="sha256:" + "a" * 64,
    created=datetime(2026, 1, 1, tzinfo=UTC),
    tool_version="1.0.0",
    files=[ModelFile("model.json", 120, "b" * 64), ModelFile("weights/w.bin", 9, "not-hex")],
    data=[DataSetFingerprint("train", 1000, "c" * 64, "d" * 64)],
    metrics={"accuracy": 0.93, "latency_p95_ms": 12.5},
    description="Who leaves next month",
)


def test_the_bom_is_valid_cyclonedx_with_a_model_card() -> None:
    document = ml_bom(FACTS)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document)) is None
    model = document["metadata"]["component"]
    assert (model["type"], model["name"], model["version"]) == (
        "machine-learning-model",
        "churn",
        "1.2.0-rc.1",
    )
    assert model["modelCard"]["modelParameters"]["datasets"] == [{"ref": "data:train"}]
    metrics = model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert metrics == [
        {"type": "accuracy", "value": "0.93"},
        {"type": "latency_p95_ms", "value": "12.5"},
    ]
    files = {c["name"]: c.get("hashes") for c in document["components"] if c["type"] == "file"}
    assert files["model.json"] == [{"alg": "SHA-256", "content": "b" * 64}]
    assert files["weights/w.bin"] is None  # a digest that is not one is left out, not shown
    (data,) = [c for c in document["components"] if c["type"] == "data"]
    assert data["hashes"] == [{"alg": "BLAKE3", "content": "c" * 64}]
    assert document["metadata"]["tools"]["components"][0]["name"] == "mlops-ci"


def test_the_same_facts_give_the_same_bom() -> None:
    assert json.dumps(ml_bom(FACTS)) == json.dumps(ml_bom(FACTS))
    other = ml_bom(BomFacts(**{**FACTS.__dict__, "digest": "sha256:" + "e" * 64}))
    assert other["serialNumber"] != ml_bom(FACTS)["serialNumber"]
