"""What `mlops-ci monitor` found, as JSON, a terminal table and Markdown."""

from __future__ import annotations

from typing import Any

from mlops_ci.core.monitor import MonitorOutcome
from mlops_ci.report.markdown import MARK, number_text, rule_text
from mlops_ci.report.stages import cell


def monitor_report(outcome: MonitorOutcome) -> dict[str, Any]:
    result = outcome.result
    breaches = result.breaches
    if breaches:
        what = " and ".join(
            {
                "slo": "breaches its SLOs",
                "sudden-change": "changed suddenly",
                "drift": "sees data unlike its training data",
            }[k]
            for k in breaches
        )
        summary = f"❌ {outcome.model} {outcome.version} {what} in production"
    else:
        summary = f"✅ {outcome.model} {outcome.version} is within its SLOs in production"
    feedback = outcome.feedback
    return {
        "schema": "mlops-ci/monitor-report/v1",
        "model": outcome.model,
        "version": outcome.version,
        "source": outcome.source,
        "at": outcome.at.isoformat(),
        "verdict": result.verdict,
        "summary": summary,
        "slo": [gate.to_json() for gate in result.slo],
        "drift": [gate.to_json() for gate in result.drift],
        "changes": [change.to_json() for change in result.changes],
        "window": result.regression.window,
        "max_change": result.regression.max_change,
        "min_delta": result.regression.min_delta,
        "max_score": result.regression.max_score,
        "history": outcome.history,
        "breaches": breaches,
        "mlflow_run_id": outcome.run_id,
        "issues": [
            {"kind": a.kind, "number": a.number, "url": a.url, "action": a.action}
            for a in outcome.issues
        ],
        "feedback": None
        if feedback is None
        else {
            "since": feedback.since.isoformat() if feedback.since else None,
            "count": len(feedback.issues),
            "issues": [
                {"number": i.number, "title": i.title, "url": i.url, "state": i.state}
                for i in feedback.issues
            ],
        },
    }


def terminal(report: dict[str, Any]) -> str:
    """One row per series: its SLO and its change against the recent median side by side."""
    lines = [report["summary"], f"source: {report['source']}", ""]
    slo = {gate["name"]: gate for gate in report["slo"]}
    changes = {change["name"]: change for change in report["changes"]}
    names = [*slo, *(name for name in changes if name not in slo)]
    width = max([len("SERIES"), *map(len, names)])
    lines.append(
        f"{'SERIES':<{width}} {'VALUE':>12} {'SLO':>10} {'MEDIAN':>12} {'CHANGE':>9}  RESULT"
    )
    for name in names:
        gate, change = slo.get(name), changes.get(name)
        value = (gate or change or {}).get("value")
        limit = f"{rule_text(gate['rule'])} {gate['threshold']:.6g}" if gate else ""
        median = moved = ""
        results = [gate["verdict"]] if gate else []
        if change is not None:
            median = "no history" if change["median"] is None else f"~ {change['median']:.6g}"
            moved = "" if change["change"] is None else f"{change['change']:+.1%}"
            results.append("sudden change" if change["sudden"] else "steady")
        lines.append(
            f"{name:<{width}} {number_text(value):>12} {limit:>10} {median:>12} {moved:>9}  "
            f"{', '.join(results)}"
        )
    if report["drift"]:
        lines += ["", "Drift from the training data:"]
    for gate in report["drift"]:
        value = "" if gate["value"] is None else f" {gate['value']:.4g}"
        lines.append(
            f"  {gate['name']}{value} ({rule_text(gate['rule'])} {gate['threshold']:.6g}): "
            f"{gate['verdict']}"
        )
    for kind, sentences in report["breaches"].items():
        lines += ["", f"Breaches ({kind}):"] + [f"  {s}" for s in sentences]
    for issue in report["issues"]:
        lines.append(f"issue #{issue['number']} ({issue['kind']}): {issue['action']}")
    if report["feedback"] is not None:
        lines.append(f"feedback issues since the release: {report['feedback']['count']}")
    return "\n".join(lines) + "\n"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"### {report['summary']}",
        "",
        f"Read from `{cell(report['source'])}` at {report['at'][:16].replace('T', ' ')} UTC; "
        f"{report['history']} earlier observation{'s' * (report['history'] != 1)} "
        f"(window {report['window']}, largest change {report['max_change']:.0%}"
        f"{_rule_extras(report)}).",
        "",
        "| series | value | objective | |",
        "|---|---:|---:|---|",
    ]
    for gate in report["slo"]:
        lines.append(
            f"| `{cell(gate['name'])}` | {number_text(gate['value'])} | "
            f"{rule_text(gate['rule'])} {gate['threshold']:.6g} | {MARK.get(gate['verdict'], '')} |"
        )
    if report["drift"]:
        lines += ["", "| drift | worst column | limit | |", "|---|---:|---:|---|"]
        lines += [
            f"| `{cell(g['name'])}` | {number_text(g['value'])} | "
            f"{rule_text(g['rule'])} {g['threshold']:.6g} | {MARK.get(g['verdict'], '')} |"
            for g in report["drift"]
        ]
        lines += [f"- {cell(g['message'])}" for g in report["drift"] if g["verdict"] == "failed"]
    sudden = [c for c in report["changes"] if c["sudden"]]
    if sudden:
        lines += ["", "| series | value | median | change |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{cell(c['name'])}` | {number_text(c['value'])} | {number_text(c['median'])} | "
            f"{'from 0' if c['change'] is None else format(c['change'], '+.1%')} |"
            for c in sudden
        ]
    if report["issues"]:
        lines += [""] + [
            f"- issue [#{i['number']}]({i['url']}) ({i['kind']}): {i['action']}"
            for i in report["issues"]
        ]
    if report["feedback"] is not None:
        count = report["feedback"]["count"]
        lines += ["", f"**Feedback**: {count} issue{'s' * (count != 1)} labelled `model-feedback`"]
        lines += [
            f"- [#{i['number']}]({i['url']}) {cell(i['title'])}"
            for i in report["feedback"]["issues"][:20]
        ]
    return "\n".join(lines) + "\n"


def _rule_extras(report: dict[str, Any]) -> str:
    """The sudden-change rule's other limits, where set."""
    extras = []
    if report.get("min_delta"):
        extras.append(f"and at least {report['min_delta']:.6g}")
    if report.get("max_score") is not None:
        extras.append(f"and over {report['max_score']:.6g} robust deviations")
    return "".join(f" {extra}" for extra in extras)
