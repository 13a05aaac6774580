"""The release plan: what a release pull request changes and says, computed from what is
known (the candidate's records, production's metrics, the files as they are on the base
branch) without touching anything. Adapters apply it (git, GitHub)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mlops_ci.deploy import kubernetes, nomad
from mlops_ci.deploy.model_version import set_model_version

MARKER = "<!-- mlops-ci:release"
_MARK = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
_CHART_POINTS = 10
_CHART_METRICS = 3


@dataclass(frozen=True)
class Candidate:
    """What the records say of the candidate to release, and of production."""

    version: str
    release_version: str
    digest: str
    repository: str
    gates: tuple[Mapping[str, Any], ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    production: str | None = None
    production_metrics: Mapping[str, float] = field(default_factory=dict)
    data: tuple[Mapping[str, Any], ...] = ()
    commits: tuple[tuple[str, str], ...] = ()
    history: tuple[tuple[str, Mapping[str, float]], ...] = ()

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.release_version.replace('+', '_')}@{self.digest}"


@dataclass(frozen=True)
class Target:
    kind: str  # "kubernetes" | "nomad"
    path: str
    text: str


@dataclass(frozen=True)
class FileChange:
    path: str
    text: str


@dataclass(frozen=True)
class ReleasePlan:
    model: str
    environment: str | None
    version: str
    candidate: str
    digest: str
    branch: str
    title: str
    body: str
    commit_message: str
    changes: tuple[FileChange, ...]
    notes: str


def branch_name(model: str, environment: str | None) -> str:
    return f"mlops-ci/release/{model}" + (f"/{environment}" if environment else "")


def plan_release(
    *,
    model: str,
    environment: str | None,
    strategy: str,
    candidate: Candidate,
    manifest_path: str,
    manifest_text: str,
    targets: Sequence[Target],
    changelog: str | None,
    today: date,
    changelog_path: str = "CHANGELOG.md",
    rollback: bool = False,
) -> ReleasePlan:
    """Every file change and the pull request's text for releasing ``candidate``."""
    changes = [
        FileChange(
            manifest_path,
            set_model_version(manifest_text, manifest_path, candidate.release_version),
        )
    ]
    for target in targets:
        changes.append(FileChange(target.path, _pin(target, strategy, candidate)))
    notes = release_notes(model, candidate, rollback=rollback)
    changes.append(
        FileChange(changelog_path, changelog_with(changelog, model, candidate, today, notes))
    )
    if rollback:
        where = f" in {environment}" if environment else ""
        title = f"Roll back {model} to {candidate.release_version}{where}"
    else:
        where = f" to {environment}" if environment else ""
        title = f"Release {model} {candidate.release_version}{where}"
    return ReleasePlan(
        model=model,
        environment=environment,
        version=candidate.release_version,
        candidate=candidate.version,
        digest=candidate.digest,
        branch=branch_name(model, environment),
        title=title,
        body=pull_request_body(model, environment, candidate, rollback=rollback),
        commit_message=f"{title}\n\nImage: {candidate.reference}\nCandidate: {candidate.version}",
        changes=tuple(changes),
        notes=notes,
    )


def _pin(target: Target, strategy: str, candidate: Candidate) -> str:
    if target.kind == "nomad":
        text = nomad.pin_images(target.text, target.path, candidate.repository, candidate.reference)
        return nomad.ensure_blue_green(text, target.path) if strategy == "blue-green" else text
    if strategy != "blue-green":
        return kubernetes.pin_images(
            target.text, target.path, candidate.repository, candidate.reference
        )
    slots = kubernetes.blue_green_slots(target.text, target.path, candidate.repository)
    idle = f"{slots.app}-{slots.idle}"
    text = kubernetes.pin_images(
        target.text, target.path, candidate.repository, candidate.reference, names=[idle]
    )
    if text == target.text:
        return text  # already pinned there and routed: a re-run changes nothing
    return kubernetes.flip_to(text, target.path, slots, slots.idle)


def release_notes(model: str, candidate: Candidate, *, rollback: bool = False) -> str:
    lines = [f"- Image: `{candidate.reference}`"]
    if rollback:
        lines.append(f"- Rolls back to {candidate.release_version}")
    else:
        lines.append(f"- Candidate: {candidate.version}")
    shown = [_metric_text(name, candidate) for name in sorted(candidate.metrics)[:8]]
    if shown:
        lines.append("- Metrics: " + ", ".join(shown))
    if candidate.commits:
        since = f" since {candidate.production}" if candidate.production else ""
        lines.append(f"- Changes{since}:")
        lines += [f"  - {subject} ({sha[:7]})" for sha, subject in candidate.commits[:30]]
    return "\n".join(lines)


def changelog_with(
    existing: str | None, model: str, candidate: Candidate, today: date, notes: str
) -> str:
    entry = f"## {model} {candidate.release_version} ({today.isoformat()})\n\n{notes}\n"
    if not existing:
        return f"# Changelog\n\n{entry}"
    lines = existing.split("\n")
    at = 1 if lines and lines[0].startswith("# ") else 0
    head = "\n".join(lines[:at])
    rest = "\n".join(lines[at:]).lstrip("\n")
    return (head + "\n\n" if head else "") + entry + ("\n" + rest if rest else "")


def pull_request_body(
    model: str, environment: str | None, candidate: Candidate, *, rollback: bool = False
) -> str:
    failed = [g for g in candidate.gates if g.get("verdict") == "failed"]
    where = environment or "production"
    if rollback:
        verdict = f"⏪ Rolls {model} back to {candidate.release_version} in {where}."
    elif failed:
        verdict = f"❌ {model} {candidate.version} failed {len(failed)} gate(s); do not merge."
    else:
        verdict = (
            f"✅ {model} {candidate.version} passed every gate; merging releases it to "
            f"{where} as {candidate.release_version}."
        )
    sections = [f"### {verdict}", ""]
    sections += _gates_table(candidate)
    sections += _metrics_table(candidate)
    sections += _data_table(candidate)
    sections += ["", "**Image**", "", f"`{candidate.reference}`"]
    if candidate.commits:
        since = f" since {candidate.production}" if candidate.production else ""
        sections += ["", f"**Commits{since}**", ""]
        sections += [f"- {sha[:7]} {_cell(subject)}" for sha, subject in candidate.commits[:50]]
    sections += _charts(candidate)
    sections += [
        "",
        f"{MARKER} model={model} environment={environment or '-'} "
        f"candidate={candidate.version} digest={candidate.digest} -->",
    ]
    return "\n".join(sections) + "\n"


def _gates_table(candidate: Candidate) -> list[str]:
    if not candidate.gates:
        return ["No gates ran for this candidate."]
    lines = ["| check | value | limit | vs production | |", "|---|---:|---:|---:|---|"]
    for gate in candidate.gates:
        value = gate.get("value")
        delta = gate.get("delta")
        lines.append(
            f"| `{_cell(str(gate.get('name', '')))}` | {_number(value)} | "
            f"{_rule(str(gate.get('rule', '')))} {_number(gate.get('threshold'))} | "
            f"{_signed(delta)} | {_MARK.get(str(gate.get('verdict')), '')} |"
        )
    return lines


def _metrics_table(candidate: Candidate) -> list[str]:
    names = sorted(set(candidate.metrics) | set(candidate.production_metrics))
    if not names:
        return []
    production = candidate.production or "production"
    lines = [
        "",
        f"**Metrics: {candidate.version} against {production}**",
        "",
        f"| metric | {candidate.version} | {production} | Δ |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        mine = candidate.metrics.get(name)
        theirs = candidate.production_metrics.get(name)
        delta = mine - theirs if mine is not None and theirs is not None else None
        lines.append(
            f"| `{_cell(name)}` | {_number(mine)} | {_number(theirs)} | {_signed(delta)} |"
        )
    return lines


def _data_table(candidate: Candidate) -> list[str]:
    if not candidate.data:
        return []
    lines = ["", "**Data**", "", "| data set | rows | blake3 | schema |", "|---|---:|---|---|"]
    for entry in candidate.data:
        fingerprint = entry.get("fingerprint") or {}
        lines.append(
            f"| {_cell(str(entry.get('name', '')))} | {int(entry.get('rows', 0)):,} | "
            f"`{str(fingerprint.get('blake3', ''))[:16]}…` | "
            f"`{str(fingerprint.get('schema_sha256', ''))[:12]}…` |"
        )
    return lines


def _charts(candidate: Candidate) -> list[str]:
    """The key metrics (the gated ones first) over the last versions, as Mermaid
    ``xychart-beta`` blocks: GitHub draws them, nothing is uploaded."""
    points = [*candidate.history[-(_CHART_POINTS - 1) :], (candidate.version, candidate.metrics)]
    gated = [str(g.get("name", "")).split(" ")[0] for g in candidate.gates]
    names = [
        n for n in dict.fromkeys([*gated, *sorted(candidate.metrics)]) if n in candidate.metrics
    ]
    lines: list[str] = []
    for name in names[:_CHART_METRICS]:
        series = [(version, metrics.get(name)) for version, metrics in points]
        known = [(v, x) for v, x in series if isinstance(x, int | float) and math.isfinite(x)]
        if len(known) < 2:
            continue
        lines += ["", *mermaid_line_chart(f"{name} over the last versions", name, known)]
    return lines


def mermaid_line_chart(title: str, axis: str, points: Sequence[tuple[str, float]]) -> list[str]:
    """A Mermaid ``xychart-beta`` block of one line: GitHub draws it, nothing is uploaded.
    The x labels are quoted as given; the title and axis keep only safe characters."""
    low = min(x for _, x in points)
    high = max(x for _, x in points)
    pad = (high - low) * 0.1 or abs(high) * 0.05 or 1.0
    labels = ", ".join(f'"{label}"' for label, _ in points)
    values = ", ".join(f"{x:.6g}" for _, x in points)
    return [
        "```mermaid",
        "xychart-beta",
        f'  title "{chart_text(title)}"',
        f"  x-axis [{labels}]",
        f'  y-axis "{chart_text(axis)}" {low - pad:.6g} --> {high + pad:.6g}',
        f"  line [{values}]",
        "```",
    ]


def _metric_text(name: str, candidate: Candidate) -> str:
    value = candidate.metrics[name]
    base = candidate.production_metrics.get(name)
    delta = f" ({value - base:+.4g})" if base is not None else ""
    return f"{name} {value:.6g}{delta}"


def _rule(rule: str) -> str:
    return {"min": "≥", "max": "≤", "max_drop": "drop ≤", "max_rise": "rise ≤"}.get(rule, rule)


def _number(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else "missing"


def _signed(value: object) -> str:
    return f"{value:+.4g}" if isinstance(value, int | float) else ""


def _cell(text: str) -> str:
    return markdown_cell(text)


def markdown_cell(text: str, limit: int = 200) -> str:
    """Text safe inside a Markdown table cell and as HTML on GitHub (it may come from a
    metrics file, a commit, MLflow)."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")[:limit]


def chart_text(text: str) -> str:
    """Text safe inside a Mermaid chart's quotes."""
    return "".join(c for c in text if c.isalnum() or c in "._- ")[:60]
