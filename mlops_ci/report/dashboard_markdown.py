"""The dashboard as Markdown: per model, production against the current candidate, gate
pass rates, and the key metrics over versions as Mermaid charts GitHub draws."""

from __future__ import annotations

from collections.abc import Sequence

from mlops_ci.report.dashboard import gate_label, number_cell, text_cell, value_of
from mlops_ci.report.history import MEASURES, ModelHistory
from mlops_ci.report.markdown import chart_text, mermaid_line_chart
from mlops_ci.report.svg import STATE_COLOURS

_MERMAID_POINTS = 30


def markdown(histories: Sequence[ModelHistory]) -> str:
    lines: list[str] = []
    for history in histories:
        versions = history.versions
        counts = {s: sum(v.state == s for v in versions) for s in STATE_COLOURS}
        lines += [
            f"### {text_cell(history.model)}: {text_cell(history.production)} in production",
            "",
            " · ".join(f"{state} {count}" for state, count in counts.items() if count)
            or "no candidates on record",
            "",
        ]
        production, current = history.production_candidate, history.current_candidate
        if production or current:
            lines += [
                f"| metric | production ({production.version if production else '—'}) | "
                f"current ({current.version if current else '—'}) | Δ |",
                "|---|---:|---:|---:|",
            ]
            for name in [*history.key_metrics, *MEASURES]:
                old, new = value_of(production, name), value_of(current, name)
                if old is None and new is None:
                    continue
                delta = "" if old is None or new is None else f"{new - old:+.4g}"
                cells = [f"`{text_cell(name)}`", number_cell(old), number_cell(new), delta]
                lines.append(f"| {' | '.join(cells)} |")
            lines.append("")
        if history.gate_rates:
            lines += ["| gate | passed |", "|---|---:|"]
            lines += [
                f"| `{text_cell(gate_label(g))}` | {g.passed}/{g.measured} |"
                for g in history.gate_rates
                if g.measured
            ]
            lines.append("")
        recent = versions[-_MERMAID_POINTS:]
        for name in [*history.key_metrics[:4], *(m for m in ("p95_ms", "size_mib"))]:
            known = [
                (v.version, value)
                for v in recent
                if (value := v.metrics.get(name, v.measures.get(name))) is not None
            ]
            if len(known) >= 2:
                labels = [(chart_text(version), value) for version, value in known]
                lines += [*mermaid_line_chart(f"{name} over versions", name, labels), ""]
        breaches = [o for o in history.observations if o.breaches][-5:]
        if breaches:
            lines += ["", "**Latest SLO breaches**", ""]
            lines += [
                f"- {o.at:%Y-%m-%d %H:%M} {text_cell(o.version)}: "
                + text_cell("; ".join(s for sentences in o.breaches.values() for s in sentences))
                for o in reversed(breaches)
            ]
        lines.append("")
    return "\n".join(lines)
