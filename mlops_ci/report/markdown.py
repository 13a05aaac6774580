"""Markdown pieces shared by the run report, the release pull request and the dashboard:
table cells, numbers, gate marks, and Mermaid charts that GitHub draws."""

from __future__ import annotations

from collections.abc import Sequence

MARK = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}


def rule_text(rule: str) -> str:
    return {
        "min": "≥",
        "max": "≤",
        "max_drop": "drop ≤",
        "max_rise": "rise ≤",
        "max_gap": "gap ≤",
    }.get(rule, rule)


def number_text(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else "missing"


def signed_text(value: object) -> str:
    return f"{value:+.4g}" if isinstance(value, int | float) else ""


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


def markdown_cell(text: str, limit: int = 200) -> str:
    """Text safe inside a Markdown table cell and as HTML on GitHub (it may come from a
    metrics file, a commit, MLflow)."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")[:limit]


def chart_text(text: str) -> str:
    """Text safe inside a Mermaid chart's quotes."""
    return "".join(c for c in text if c.isalnum() or c in "._- ")[:60]
