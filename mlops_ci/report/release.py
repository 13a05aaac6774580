"""The release pull request's text: its body (gates, metrics against production, data,
image, commits, charts), the release notes and the CHANGELOG entry."""

from __future__ import annotations

import math
from datetime import date

from mlops_ci.core.release import MARKER, Candidate
from mlops_ci.report.markdown import (
    MARK,
    markdown_cell,
    mermaid_line_chart,
    number_text,
    rule_text,
    signed_text,
)

_CHART_POINTS = 10
_CHART_METRICS = 3


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
    failed = [g for g in candidate.gates if g.verdict == "failed"]
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
        sections += [
            f"- {sha[:7]} {markdown_cell(subject)}" for sha, subject in candidate.commits[:50]
        ]
    sections += _charts(candidate)
    if candidate.card:
        sections += ["", "<details><summary>Model card</summary>", "", candidate.card, "</details>"]
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
        lines.append(
            f"| `{markdown_cell(gate.name)}` | {number_text(gate.value)} | "
            f"{rule_text(gate.rule)} {number_text(gate.threshold)} | "
            f"{signed_text(gate.delta)} | {MARK.get(gate.verdict, '')} |"
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
            f"| `{markdown_cell(name)}` | {number_text(mine)} | {number_text(theirs)} | "
            f"{signed_text(delta)} |"
        )
    return lines


def _data_table(candidate: Candidate) -> list[str]:
    if not candidate.data:
        return []
    lines = ["", "**Data**", "", "| data set | rows | blake3 | schema |", "|---|---:|---|---|"]
    for entry in candidate.data:
        lines.append(
            f"| {markdown_cell(entry.name)} | {entry.rows:,} | `{entry.blake3[:16]}…` | "
            f"`{entry.schema_sha256[:12]}…` |"
        )
    return lines


def _charts(candidate: Candidate) -> list[str]:
    """The key metrics (the gated ones first) over the last versions, as Mermaid
    ``xychart-beta`` blocks: GitHub draws them, nothing is uploaded."""
    points = [*candidate.history[-(_CHART_POINTS - 1) :], (candidate.version, candidate.metrics)]
    gated = [g.name.split(" ")[0] for g in candidate.gates]
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


def _metric_text(name: str, candidate: Candidate) -> str:
    value = candidate.metrics[name]
    base = candidate.production_metrics.get(name)
    delta = f" ({value - base:+.4g})" if base is not None else ""
    return f"{name} {value:.6g}{delta}"
