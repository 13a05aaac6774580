"""The model card of a candidate, from the manifest and the candidate's records: what the
image ships as /MODEL_CARD.md."""

from __future__ import annotations

from mlops_ci.app.candidates import candidate_evidence, production_metrics
from mlops_ci.app.context import Context
from mlops_ci.core.release import Candidate
from mlops_ci.manifest.model import Manifest
from mlops_ci.report.model_card import CardSubject, model_card


def card_subject(manifest: Manifest) -> CardSubject:
    model = manifest.model
    return CardSubject(
        name=model.name,
        description=model.description,
        intended_use=model.intended_use,
        limitations=model.limitations,
        owners=model.owners,
        signature=model.signature,
    )


def candidate_card(context: Context, version: str) -> bytes:
    gates, metrics, data = candidate_evidence(context, version)
    production = production_metrics(context)
    candidate = Candidate(
        version=version,
        release_version=version,
        digest="",
        repository="",
        gates=gates,
        metrics=metrics,
        production=production[0] if production else None,
        production_metrics=production[1] if production else {},
        data=data,
    )
    return model_card(card_subject(context.manifest), candidate).encode()
