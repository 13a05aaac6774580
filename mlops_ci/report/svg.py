"""Inline SVG charts: drawn by any browser without a script, a font file or a stylesheet
from elsewhere. Each chart says what it is in ``data-chart`` and how many points it drew
in ``data-points``, and carries a <title> for screen readers and tooltips.

No text is cut and none is drawn tiny: the charts over versions and time are as wide in
units as the dashboard's grid makes them in pixels (``LINE_WIDTH``), every text is fitted
to the room it has (shortened with … when it must be, the whole text in a <title>), and
the x-axis shows only as many labels as fit side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

WIDE = 640  # the timeline and the bars: one per model section, up to 760 px wide
LINE_WIDTH, LINE_HEIGHT = 400, 190  # a chart of the grid, whose columns are >= 400 px
RIGHT, TOP, BOTTOM = 12, 30, 30
TICK, HEADING = 12, 13  # font sizes in units (dashboard_style.CSS says the same)
STATE_COLOURS = {
    "candidate": "#9aa5b1",
    "tested": "#7aa7d6",
    "validated": "#2f7ed8",
    "released": "#1a9e5a",
    "failed": "#d64545",
    "expired": "#c8c8c8",
}
MARK_COLOURS = {**STATE_COLOURS, "breach": "#d64545"}


def line_chart(
    chart: str,
    title: str,
    points: Sequence[tuple[float, float | None]],
    *,
    x_labels: Sequence[tuple[float, str]] = (),
    limits: Sequence[tuple[str, float]] = (),
    marks: Sequence[tuple[float, float, str]] = (),
) -> str:
    """A line through ``points`` (x, y); y None leaves a gap. ``x_labels`` are where a
    label may go (as many are shown as fit). ``limits`` are dashed horizontal lines (an
    SLO, a gate), ``marks`` dots of a kind (a key of ``MARK_COLOURS``: a release, a
    failure, a breach), named in a legend."""
    known = [(x, y) for x, y in points if y is not None and math.isfinite(y)]
    if not known:
        return _empty(chart, title, LINE_WIDTH)
    ys = [y for _, y in known] + [v for _, v in limits if math.isfinite(v)]
    xs = [x for x, _ in points]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(ys), max(ys)
    pad = (y_high - y_low) * 0.08 or abs(y_high) * 0.05 or 1.0
    y_low, y_high = y_low - pad, y_high + pad
    ticks = [(value, _num(value)) for value in (y_low + pad, (y_low + y_high) / 2, y_high - pad)]
    left = 10 + max(text_width(label, TICK) for _, label in ticks)

    def sx(x: float) -> float:
        span = x_high - x_low
        return left + (0.5 if span == 0 else (x - x_low) / span) * (LINE_WIDTH - left - RIGHT)

    def sy(y: float) -> float:
        return TOP + (1 - (y - y_low) / (y_high - y_low)) * (LINE_HEIGHT - TOP - BOTTOM)

    kinds = list(dict.fromkeys(kind for _, _, kind in marks))
    legend, legend_width = _legend(kinds, LINE_WIDTH)
    parts = [
        _open(chart, title, len(known), LINE_WIDTH, LINE_HEIGHT, room=legend_width),
        _axes(left),
        legend,
    ]
    for value, label in ticks:
        parts.append(
            f'<text x="{left - 6:.1f}" y="{sy(value) + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(label)}</text>'
        )
    for x, anchor, label in _fitting_labels([(sx(x), label) for x, label in x_labels]):
        parts.append(
            f'<text x="{x:.1f}" y="{LINE_HEIGHT - BOTTOM + 18}" text-anchor="{anchor}" '
            f'class="tick">{escape(label)}</text>'
        )
    for name, value in limits:
        if math.isfinite(value):
            parts.append(
                f'<line x1="{left:.1f}" x2="{LINE_WIDTH - RIGHT}" y1="{sy(value):.1f}" '
                f'y2="{sy(value):.1f}" class="limit"><title>{escape(name)}</title></line>'
            )
    for segment in _segments(points):
        if len(segment) == 1:
            x, y = segment[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" class="dot"/>')
        else:
            coordinates = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in segment)
            parts.append(f'<polyline points="{coordinates}" class="line"/>')
    for x, y, kind in marks:
        if math.isfinite(y):
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" '
                f'fill="{MARK_COLOURS[kind]}" class="mark" data-state="{kind}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def timeline(chart: str, title: str, versions: Sequence[tuple[str, str]]) -> str:
    """One bar per version, oldest first, coloured by its state."""
    if not versions:
        return _empty(chart, title, WIDE)
    step = (WIDE - 2 * 8) / len(versions)
    parts = [_open(chart, title, len(versions), WIDE, 64)]
    for index, (version, state) in enumerate(versions):
        colour = STATE_COLOURS.get(state, "#888888")
        parts.append(
            f'<rect x="{8 + index * step:.2f}" y="26" width="{max(step - 0.5, 0.5):.2f}" '
            f'height="28" fill="{colour}"><title>{escape(version)}: {escape(state)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(chart: str, title: str, items: Sequence[tuple[str, float, str]]) -> str:
    """A horizontal bar per item: a label, a share from 0 to 1, the text beside it."""
    if not items:
        return _empty(chart, title, WIDE)
    row = 24
    height = TOP + row * len(items) + 8
    parts = [_open(chart, title, len(items), WIDE, height)]
    label_end, bar_start, text_room = 232, 240, 90
    width = WIDE - bar_start - text_room
    for index, (label, share, text) in enumerate(items):
        y = TOP + index * row
        colour = "#1a9e5a" if share >= 0.999 else "#e0a030" if share >= 0.8 else "#d64545"
        parts.append(
            f'<text x="{label_end}" y="{y + 15}" text-anchor="end" class="tick">'
            f"{escape(fit(label, label_end - 8, TICK))}</text>"
            f'<rect x="{bar_start}" y="{y + 3}" width="{width}" height="16" class="track"/>'
            f'<rect x="{bar_start}" y="{y + 3}" width="{width * max(0.0, min(share, 1.0)):.1f}" '
            f'height="16" fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{bar_start + width + 6}" y="{y + 15}" class="tick">'
            f"{escape(fit(text, text_room - RIGHT, TICK))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def text_width(text: str, size: float) -> float:
    """A generous estimate of ``text``'s width at ``size`` in the sans-serif fonts
    browsers fall back to (DejaVu Sans is the widest common one)."""
    return sum(_em(character) for character in text) * size


def fit(text: str, room: float, size: float) -> str:
    """``text``, or as much of it as fits in ``room`` with … after it."""
    if text_width(text, size) <= room:
        return text
    kept = text
    while kept and text_width(kept + "…", size) > room:
        kept = kept[:-1]
    return kept + "…"


def _em(character: str) -> float:
    if character in "iljtfr.,:;'|!()[] -":
        return 0.42
    if character in "mwMW@%…":
        return 1.02
    if character.isupper() or not character.isascii():
        return 0.8
    return 0.66


def _fitting_labels(labels: Sequence[tuple[float, str]]) -> list[tuple[float, str, str]]:
    """As many of the labels (x in units, text) as fit on the x-axis, evenly chosen, none
    overlapping another or leaving the chart: the first starts at its x, the last ends
    at it, the others are centred (a lone label is centred)."""
    texts = [(x, fit(label, 130, TICK)) for x, label in labels]
    for count in range(min(len(texts), 8), 0, -1):
        if count == 1:
            chosen = [texts[0]] if len(texts) == 1 else [texts[len(texts) // 2]]
        else:
            step = (len(texts) - 1) / (count - 1)
            chosen = [texts[round(i * step)] for i in range(count)]
        anchors = ["middle"] * len(chosen)
        if len(chosen) > 1:
            anchors[0], anchors[-1] = "start", "end"
        placed = [
            (_inside(x, text, anchor), anchor, text)
            for (x, text), anchor in zip(chosen, anchors, strict=True)
        ]
        boxes = [_box(x, text, anchor) for x, anchor, text in placed]
        if all(boxes[i][1] + 10 <= boxes[i + 1][0] for i in range(len(boxes) - 1)):
            return placed
    return []


def _box(x: float, text: str, anchor: str) -> tuple[float, float]:
    width = text_width(text, TICK)
    start = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return start, start + width


def _inside(x: float, text: str, anchor: str) -> float:
    """``x``, moved so that the text anchored there stays inside the chart."""
    start, end = _box(x, text, anchor)
    if start < 4:
        return x + 4 - start
    if end > LINE_WIDTH - 4:
        return x - (end - LINE_WIDTH + 4)
    return x


def _legend(kinds: Iterable[str], width: int) -> tuple[str, float]:
    """The marks' kinds at the chart's top right, and the room they take."""
    parts, right = [], float(width - RIGHT)
    for kind in reversed(list(kinds)):
        parts.append(
            f'<text x="{right:.1f}" y="18" text-anchor="end" class="tick">{escape(kind)}</text>'
        )
        right -= text_width(kind, TICK) + 8
        parts.append(f'<circle cx="{right:.1f}" cy="14" r="3.5" fill="{MARK_COLOURS[kind]}"/>')
        right -= 14
    return "".join(parts), width - RIGHT - right


def _open(chart: str, title: str, count: int, width: int, height: int, *, room: float = 0) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" class="chart" data-chart="{escape(chart)}" data-points="{count}">'
        f"<title>{escape(title)}</title>"
        f'<text x="8" y="18" class="heading">'
        f"{escape(fit(title, width - 16 - room - 8, HEADING * 1.1))}</text>"  # bold
    )


def _axes(left: float) -> str:
    bottom = LINE_HEIGHT - BOTTOM
    return (
        f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{TOP}" y2="{bottom}" class="axis"/>'
        f'<line x1="{left:.1f}" x2="{LINE_WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" '
        'class="axis"/>'
    )


def _empty(chart: str, title: str, width: int) -> str:
    return (
        _open(chart, title, 0, width, 60)
        + '<text x="8" y="44" class="tick">nothing measured yet</text></svg>'
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
