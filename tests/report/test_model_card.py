"""The model card: every section from the candidate's facts, hostile text kept inert."""

from __future__ import annotations

from mlops_ci.core.gates import GateResult
from mlops_ci.core.record_details import DataSetFingerprint
from mlops_ci.core.release import Candidate
from mlops_ci.core.signature import Field, Signature
from mlops_ci.report.model_card import CardSubject, model_card


def gate(name: str, verdict: str = "passed", rule: str = "min") -> GateResult:
    return GateResult(name, rule, 0.8, 0.9, verdict, f"{name} said")  # type: ignore[arg-type]


def test_a_card_holds_use_interface_data_metrics_slices_gates_drift_and_limits() -> None:
    subject = CardSubject(
        name="churn",
        description="Predicts churn | <script>alert(1)</script>",
        intended_use="Retention offers only.",
        owners=("@acme/ml-team",),
        signature=Signature(
            inputs=(Field("tenure", "float"),), outputs=(Field("churn_probability", "float"),)
        ),
    )
    candidate = Candidate(
        version="1.4.0-rc.2",
        release_version="1.4.0",
        digest="sha256:" + "a" * 64,
        repository="ghcr.io/acme/churn",
        gates=(
            gate("train: drift psi", rule="max"),
            gate("accuracy"),
            gate("slices.region.west.recall", "failed"),
            gate("slices.region.recall.gap", rule="max_gap"),
        ),
        metrics={"accuracy": 0.91, "slices.region.west.recall": 0.7},
        production="1.3.0",
        production_metrics={"accuracy": 0.9},
        data=(DataSetFingerprint("train", 5000, "b" * 64, "c" * 64),),
    )
    card = model_card(subject, candidate)
    assert card.startswith("# Model card: churn 1.4.0-rc.2\n")
    assert "<script>" not in card
    assert "Predicts churn \\| &lt;script>" in card
    sections = [line for line in card.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Intended use",
        "## Interface",
        "## Training data",
        "## Metrics",
        "## Slices",
        "## Gates",
        "## Drift from production's training data",
        "## Limitations",
    ]
    slices = card.split("## Slices")[1].split("## Gates")[0]
    assert "`slices.region.west.recall` | 0.9 | ≥ 0.8 | ❌" in slices
    assert "`slices.region.recall.gap`" in slices
    gates = card.split("## Gates")[1].split("## Drift")[0]
    assert "`accuracy`" in gates
    assert "slices." not in gates
    assert "drift" not in gates
    assert "`train: drift psi`" in card.split("## Drift")[1]
    metrics = card.split("## Metrics")[1].split("## Slices")[0]
    assert "| `accuracy` | 0.91 | 0.9 | +0.01 |" in metrics
    assert "slices." not in metrics
    assert "| train | 5,000 | `bbbbbbbbbbbbbbbb` |" in card
    assert "| input | `tenure` | float |" in card
    assert "Retention offers only." in card
    assert "_Not stated (model.limitations)._" in card
