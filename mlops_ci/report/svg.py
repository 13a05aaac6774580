"""Inline SVG charts: drawn by any browser without a script, a font file or a stylesheet
from elsewhere. Each chart says what it is in ``data-chart`` and how many points it drew
in ``data-points``, and carries a <title> for screen readers and tooltips."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 34
STATE_COLOURS = {
    "candidate": "#9aa5b1",
    "tested": "#7aa7d6",
    "validated": "#2f7ed8",
    "released": "#1a9e5a",
    "failed": "#d64545",
    "expired": "#c8c8c8",
}


def line_chart(
    chart: str,
    title: str,
    points: Sequence[tuple[float, float | None]],
    *,
    x_labels: Sequence[tuple[float, str]] = (),
    limits: Sequence[tuple[str, float]] = (),
    marks: Sequence[tuple[float, float, str]] = (),
) -> str:
    """A line through ``points`` (x, y); y None leaves a gap. ``limits`` are dashed
    horizontal lines (an SLO, a gate), ``marks`` dots with a colour (a release, a breach)."""
    known = [(x, y) for x, y in points if y is not None and math.isfinite(y)]
    ys = [y for _, y in known] + [v for _, v in limits]
    if not known:
        return _empty(chart, title)
    xs = [x for x, _ in points] or [0.0]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    pad = (y_high - y_low) * 0.08 or abs(y_high) * 0.05 or 1.0
    y_low, y_high = y_low - pad, y_high + pad

    def sx(x: float) -> float:
        span = x_high - x_low
        return LEFT + (0.5 if span == 0 else (x - x_low) / span) * (WIDTH - LEFT - RIGHT)

    def sy(y: float) -> float:
        return TOP + (1 - (y - y_low) / (y_high - y_low)) * (HEIGHT - TOP - BOTTOM)

    parts = [_open(chart, title, len(known)), _axes()]
    for value in (y_low + pad, (y_low + y_high) / 2, y_high - pad):
        parts.append(
            f'<text x="{LEFT - 6}" y="{sy(value) + 4:.1f}" text-anchor="end" '
            f'class="tick">{_num(value)}</text>'
        )
    for x, label in x_labels:
        parts.append(
            f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'class="tick">{escape(label)}</text>'
        )
    for name, value in limits:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(value):.1f}" y2="{sy(value):.1f}" '
            f'class="limit"><title>{escape(name)} {_num(value)}</title></line>'
        )
    for segment in _segments(points):
        coordinates = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in segment)
        if len(segment) == 1:
            x, y = segment[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" class="dot"/>')
        else:
            parts.append(f'<polyline points="{coordinates}" class="line"/>')
    for x, y, colour in marks:
        if math.isfinite(y):
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{colour}" class="mark"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def timeline(chart: str, title: str, versions: Sequence[tuple[str, str]]) -> str:
    """One bar per version, oldest first, coloured by its state."""
    if not versions:
        return _empty(chart, title)
    height = 64
    step = (WIDTH - 2 * 8) / len(versions)
    parts = [_open(chart, title, len(versions), height)]
    for index, (version, state) in enumerate(versions):
        colour = STATE_COLOURS.get(state, "#888888")
        parts.append(
            f'<rect x="{8 + index * step:.2f}" y="24" width="{max(step - 0.5, 0.5):.2f}" '
            f'height="28" fill="{colour}"><title>{escape(version)}: {escape(state)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(chart: str, title: str, items: Sequence[tuple[str, float, str]]) -> str:
    """A horizontal bar per item: a label, a share from 0 to 1, the text beside it."""
    if not items:
        return _empty(chart, title)
    row = 22
    height = TOP + row * len(items) + 8
    parts = [_open(chart, title, len(items), height)]
    width = WIDTH - 220 - 90
    for index, (label, share, text) in enumerate(items):
        y = TOP + index * row
        colour = "#1a9e5a" if share >= 0.999 else "#e0a030" if share >= 0.8 else "#d64545"
        parts.append(
            f'<text x="212" y="{y + 14}" text-anchor="end" class="tick">{escape(label[:34])}</text>'
            f'<rect x="220" y="{y + 3}" width="{width}" height="14" class="track"/>'
            f'<rect x="220" y="{y + 3}" width="{width * max(0.0, min(share, 1.0)):.1f}" '
            f'height="14" fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{226 + width}" y="{y + 14}" class="tick">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _open(chart: str, title: str, count: int, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" class="chart" data-chart="{escape(chart)}" data-points="{count}">'
        f"<title>{escape(title)}</title>"
        f'<text x="8" y="16" class="heading">{escape(title)}</text>'
    )


def _axes() -> str:
    return (
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" class="axis"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
        'class="axis"/>'
    )


def _empty(chart: str, title: str) -> str:
    return (
        _open(chart, title, 0, 60)
        + '<text x="8" y="42" class="tick">nothing measured yet</text></svg>'
    )


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y):
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x, y))
    return [s for s in segments if s]


def _num(value: float) -> str:
    return f"{value:.4g}"
