"""A candidate's model card (after Mitchell et al., "Model Cards for Model Reporting"): what
the model is for, its interface, the data it was trained on, its metrics, how it does per
slice, every gate it passed or failed and how far its data moved from production's, all
from its records, in Markdown. It ships in the image as /MODEL_CARD.md and in the release
pull request."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_ci.core.gates import GateResult
from mlops_ci.core.release import Candidate
from mlops_ci.core.signature import Signature
from mlops_ci.report.markdown import MARK, markdown_cell, number_text, rule_text, signed_text


@dataclass(frozen=True)
class CardSubject:
    """What the manifest says of the model."""

    name: str
    description: str = ""
    intended_use: str = ""
    limitations: str = ""
    owners: tuple[str, ...] = ()
    signature: Signature | None = None


def model_card(subject: CardSubject, candidate: Candidate) -> str:
    slices = [g for g in candidate.gates if g.name.startswith("slices.")]
    drift = [g for g in candidate.gates if ": drift " in g.name]
    others = [g for g in candidate.gates if g not in slices and g not in drift]
    lines = [f"# Model card: {subject.name} {candidate.version}", ""]
    if subject.description:
        lines += [markdown_cell(subject.description, 1000), ""]
    lines += [
        "## Intended use",
        "",
        _text(subject.intended_use, "Not stated (model.intended_use)."),
    ]
    if subject.owners:
        lines += ["", "Owners: " + ", ".join(subject.owners)]
    lines += _interface(subject.signature)
    lines += _data(candidate)
    lines += _metrics(candidate)
    lines += ["", "## Slices", ""]
    lines += _gates(slices) if slices else ["No slice gates (test.slices)."]
    lines += ["", "## Gates", ""]
    lines += _gates(others) if others else ["No gates ran."]
    lines += ["", "## Drift from production's training data", ""]
    lines += _gates(drift) if drift else ["No drift limits (data[].drift)."]
    lines += [
        "",
        "## Limitations",
        "",
        _text(subject.limitations, "Not stated (model.limitations)."),
    ]
    return "\n".join(lines) + "\n"


def _text(text: str, otherwise: str) -> str:
    return markdown_cell(text, 4000) if text.strip() else f"_{otherwise}_"


def _interface(signature: Signature | None) -> list[str]:
    lines = ["", "## Interface", ""]
    if signature is None or not (signature.inputs or signature.outputs):
        return [*lines, "_No signature declared (model.signature)._"]
    lines += ["| | field | type |", "|---|---|---|"]
    for side, fields in (("input", signature.inputs), ("output", signature.outputs)):
        lines += [f"| {side} | `{markdown_cell(f.name)}` | {f.type} |" for f in fields]
    return lines


def _data(candidate: Candidate) -> list[str]:
    lines = ["", "## Training data", ""]
    if not candidate.data:
        return [*lines, "_No data sets were ingested for this candidate._"]
    lines += ["| data set | rows | blake3 | schema |", "|---|---:|---|---|"]
    lines += [
        f"| {markdown_cell(d.name)} | {d.rows:,} | `{d.blake3[:16] or '-'}` | "
        f"`{d.schema_sha256[:12]}` |"
        for d in candidate.data
    ]
    return lines


def _metrics(candidate: Candidate) -> list[str]:
    lines = ["", "## Metrics", ""]
    if not candidate.metrics:
        return [*lines, "_No metrics were recorded._"]
    against = candidate.production or "production"
    lines += [f"| metric | value | {against} | Δ |", "|---|---:|---:|---:|"]
    for name in sorted(candidate.metrics):
        if name.startswith("slices."):
            continue  # the slices' own section shows them, with their gates
        value = candidate.metrics[name]
        before = candidate.production_metrics.get(name)
        delta = value - before if before is not None else None
        lines.append(
            f"| `{markdown_cell(name)}` | {number_text(value)} | {number_text(before)} | "
            f"{signed_text(delta)} |"
        )
    return lines


def _gates(gates: list[GateResult]) -> list[str]:
    lines = ["| check | value | limit | |", "|---|---:|---:|---|"]
    lines += [
        f"| `{markdown_cell(g.name)}` | {number_text(g.value)} | "
        f"{rule_text(g.rule)} {number_text(g.threshold)} | {MARK.get(g.verdict, '')} |"
        for g in gates
    ]
    return lines
