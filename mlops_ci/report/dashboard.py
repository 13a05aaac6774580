"""The dashboard of one model or of every model in a repository: one self-contained HTML
file (inline CSS and SVG, no script, nothing fetched), Markdown with Mermaid charts for
pull requests and step summaries, and JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from mlops_ci.core.observations import Observation, metric_key
from mlops_ci.report.dashboard_style import CSS as _CSS
from mlops_ci.report.history import MEASURES, GateRate, ModelHistory, VersionHistory
from mlops_ci.report.markdown import markdown_cell
from mlops_ci.report.svg import STATE_COLOURS, bars, line_chart, timeline

MAX_TIME_CHARTS = 12
MAX_BREACHES = 50


def to_json(histories: Sequence[ModelHistory], generated: datetime) -> dict[str, Any]:
    return {
        "schema": "mlops-ci/dashboard/v1",
        "generated_at": generated.isoformat(),
        "models": [_model_json(h) for h in histories],
    }


def _model_json(history: ModelHistory) -> dict[str, Any]:
    return {
        "model": history.model,
        "production": history.production,
        "released_from": history.released_from,
        "current": history.current,
        "key_metrics": list(history.key_metrics),
        "versions": [
            {
                "version": v.version,
                "state": v.state,
                "built_at": v.built_at.isoformat() if v.built_at else None,
                "released_as": v.released_as,
                "commit": v.commit,
                "stages": dict(v.stages),
                "metrics": dict(v.metrics),
                "measures": dict(v.measures),
            }
            for v in history.versions
        ],
        "gate_pass_rates": [
            {
                "name": g.name,
                "rule": g.rule,
                "threshold": g.threshold,
                "passed": g.passed,
                "measured": g.measured,
                "rate": g.rate,
            }
            for g in history.gate_rates
        ],
        "observations": [
            {
                "at": o.at.isoformat(),
                "version": o.version,
                "metrics": {k: v for k, v in o.metrics.items() if math.isfinite(v)},
                "breaches": {k: list(v) for k, v in o.breaches.items()},
            }
            for o in history.observations
        ],
    }


# -- HTML ---------------------------------------------------------------------------------


def html(histories: Sequence[ModelHistory], generated: datetime, title: str) -> str:
    body = "".join(_model_html(h) for h in histories)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing but this file: a page opened offline, from an artifact, looks the same.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="muted">Made by mlops-ci at {generated:%Y-%m-%d %H:%M} UTC from the '
        "records and MLflow; one section per model.</p>"
        f"{body}</main></body></html>\n"
    )


def _model_html(history: ModelHistory) -> str:
    model = escape(history.model)
    versions = history.versions
    counts = {state: sum(v.state == state for v in versions) for state in STATE_COLOURS}
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{state} {counts[state]}</span>'
        for state, colour in STATE_COLOURS.items()
    )
    parts = [
        f'<section class="model" id="model-{model}">',
        f"<h2>{model}</h2>",
        f"<p>In production: <b>{escape(history.production)}</b>"
        f"{_from_candidate(history)}. {len(versions)} candidate"
        f"{'s' * (len(versions) != 1)} on record, "
        f"{len(history.observations)} observation{'s' * (len(history.observations) != 1)} "
        "in production.</p>",
        "<h3>Versions</h3>",
        timeline(
            f"timeline:{history.model}",
            "Candidates, oldest first, by state",
            [(v.version, v.state) for v in versions],
        ),
        f'<p class="legend">{legend}</p>',
        "<h3>Production against the current candidate</h3>",
        _comparison(history),
        "<h3>Key metrics over versions</h3>",
        '<div class="grid">',
        *(_over_versions(history, name, metric=True) for name in history.key_metrics),
        "</div>",
        "<h3>Latency and size over versions</h3>",
        '<div class="grid">',
        *(
            _over_versions(history, name, metric=False)
            for name in MEASURES
            if any(name in v.measures for v in versions)
        ),
        "</div>",
        "<h3>Gate pass rates</h3>",
        bars(
            f"gates:{history.model}",
            "Share of candidates that passed each gate",
            [
                (gate_label(g), g.rate or 0.0, f"{g.passed}/{g.measured}")
                for g in history.gate_rates
                if g.measured
            ],
        ),
        "<h3>In production over time</h3>",
        '<div class="grid">',
        *_over_time(history),
        "</div>",
        "<h3>SLO breaches</h3>",
        _breaches(history),
        "</section>",
    ]
    return "".join(parts)


def _from_candidate(history: ModelHistory) -> str:
    found = history.production_candidate
    return f" (candidate {escape(found.version)})" if found else ""


def _comparison(history: ModelHistory) -> str:
    production, current = history.production_candidate, history.current_candidate
    if production is None and current is None:
        return '<p class="muted">No released or live candidate on record.</p>'
    names = [*history.key_metrics, *MEASURES]
    rows = []
    for name in names:
        old = value_of(production, name)
        new = value_of(current, name)
        if old is None and new is None:
            continue
        delta = "" if old is None or new is None else f"{new - old:+.4g}"
        rows.append(
            f"<tr><td><code>{escape(name)}</code></td><td class=n>{number_cell(old)}</td>"
            f"<td class=n>{number_cell(new)}</td><td class=n>{delta}</td></tr>"
        )
    head_old = (
        f"from {escape(production.version)}" if production else "no candidate of it on record"
    )
    head_new = (
        f"{escape(current.version)} ({current.state})"
        if current
        else "no live candidate on this branch"
    )
    return (
        f"<table><tr><th>metric</th><th>production: {escape(history.production)} "
        f"({head_old})</th><th>current: {head_new}</th><th>Δ</th></tr>{''.join(rows)}</table>"
    )


def value_of(version: VersionHistory | None, name: str) -> float | None:
    if version is None:
        return None
    return version.metrics.get(name, version.measures.get(name))


def number_cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _over_versions(history: ModelHistory, name: str, *, metric: bool) -> str:
    versions = history.versions
    points = [
        (float(i), (v.metrics if metric else v.measures).get(name)) for i, v in enumerate(versions)
    ]
    marked = [
        (float(i), y, v.state)
        for i, v in enumerate(versions)
        if v.state in ("released", "failed")
        and (y := (v.metrics if metric else v.measures).get(name)) is not None
    ]
    labels = [(float(i), v.version) for i, v in enumerate(versions)]
    return line_chart(
        f"{'metric' if metric else 'measure'}:{history.model}:{name}",
        f"{name} by version",
        points,
        x_labels=labels,
        limits=_limits(history, name),
        marks=marked,
    )


def _limits(history: ModelHistory, name: str) -> list[tuple[str, float]]:
    return [
        (f"{g.rule} {g.threshold:.6g}", g.threshold) for g in history.gate_rates if g.name == name
    ]


def _over_time(history: ModelHistory) -> list[str]:
    observations = history.observations
    if not observations:
        return ['<p class="muted">No observations yet: run <code>mlops-ci monitor</code>.</p>']
    slo_names = [name for name, _ in history.slo]
    keys = {metric_key(n): n for n in slo_names}
    others = sorted({k for o in observations for k in o.metrics} - set(keys))
    names = [*keys, *others][:MAX_TIME_CHARTS]
    start = observations[0].at
    charts = []
    for key in names:
        shown = keys.get(key, key)
        bounds = dict(history.slo).get(shown)
        limits = []
        if bounds is not None:
            limits = [
                (f"{r} {v:.6g}", v)
                for r, v in (("min", bounds.min), ("max", bounds.max))
                if v is not None
            ]
        points = [((o.at - start).total_seconds(), o.metrics.get(key)) for o in observations]
        breaches = [
            ((o.at - start).total_seconds(), o.metrics[key], "breach")
            for o in observations
            if key in o.metrics and _breached(o, (key, shown))
        ]
        span = (observations[-1].at - start).total_seconds()
        labels = [
            (span * f, (start + (observations[-1].at - start) * f).strftime("%m-%d %H:%M"))
            for f in (0.0, 0.5, 1.0)
        ]
        charts.append(
            line_chart(
                f"time:{history.model}:{shown}",
                f"{shown} in production",
                points,
                x_labels=labels if span else labels[:1],
                limits=limits,
                marks=breaches,
            )
        )
    return charts


def _breached(observation: Observation, names: tuple[str, ...]) -> bool:
    """Whether a breach of this observation is one of this series (its sentences start
    with the series' name)."""
    return any(
        sentence.startswith(f"{name} ")
        for sentences in observation.breaches.values()
        for sentence in sentences
        for name in names
    )


def _breaches(history: ModelHistory) -> str:
    found = [o for o in history.observations if o.breaches][-MAX_BREACHES:]
    if not found:
        return '<p class="muted">None on record.</p>'
    rows = "".join(
        f"<tr><td>{o.at:%Y-%m-%d %H:%M}</td><td>{escape(o.version)}</td>"
        f"<td>{escape(kind)}</td><td>{escape('; '.join(sentences))}</td></tr>"
        for o in reversed(found)
        for kind, sentences in o.breaches.items()
    )
    head = "<tr><th>when (UTC)</th><th>version</th><th>kind</th><th>what</th></tr>"
    return f"<table>{head}{rows}</table>"


def gate_label(gate: GateRate) -> str:
    return f"{gate.name} {'≥' if gate.rule == 'min' else '≤'} {gate.threshold:.6g}"


# -- Markdown -----------------------------------------------------------------------------


def text_cell(text: str) -> str:
    return markdown_cell(text, 300)
