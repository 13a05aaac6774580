"""The report of a lifecycle run: JSON (schemas/run-report.schema.json), a terminal table,
and Markdown for the step summary and pull requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_ci.core.results import StageResult
from mlops_ci.report.markdown import MARK, number_text, rule_text, signed_text

REPORT_SCHEMA = "mlops-ci/run-report/v1"
_WIDTH = 34


def run_report(model: str, results: Sequence[StageResult]) -> dict[str, Any]:
    failed = [r for r in results if r.verdict == "failed"]
    version = results[-1].version if results else None
    return {
        "schema": REPORT_SCHEMA,
        "model": model,
        "version": version,
        "verdict": "failed" if failed else "passed",
        "state": results[-1].state if results else None,
        "summary": _summary(model, version, results),
        "stages": [
            {
                "stage": r.stage,
                "version": r.version,
                "verdict": r.verdict,
                "state": r.state,
                "problem": r.details.get("problem"),
                "checks": [g.to_json() for g in r.gates],
                "log": str(r.log) if r.log else None,
                **(
                    {"output_tail": str(r.details["output_tail"])}
                    if r.verdict == "failed" and r.details.get("output_tail")
                    else {}
                ),
                **_data(r),
            }
            for r in results
        ],
    }


def _data(result: StageResult) -> dict[str, Any]:
    data = result.details.get("data")
    if not isinstance(data, list):
        return {}
    keys = ("name", "file", "rows", "fingerprint")
    return {"data": [{key: entry[key] for key in keys} for entry in data]}


def _summary(model: str, version: str | None, results: Sequence[StageResult]) -> str:
    if not results:
        return f"{model}: no stage ran"
    failed = [r for r in results if r.verdict == "failed"]
    if not failed:
        return f"{MARK['passed']} {model} {version} is {results[-1].state}"
    first = failed[0]
    reasons = [g.message for g in first.gates if g.verdict == "failed"]
    why = first.details.get("problem") or "; ".join(reasons[:3])
    return f"{MARK['failed']} {model} {version} failed {first.stage}: {why}"


def terminal(report: dict[str, Any]) -> str:
    lines = [report["summary"], ""]
    lines.append(
        f"{'STAGE':<9} {'CHECK':<{_WIDTH}} {'VALUE':>12} {'LIMIT':>14} {'VS PROD':>10}  RESULT"
    )
    for stage in report["stages"]:
        if stage["problem"]:
            lines.append(
                f"{stage['stage']:<9} {'(stage)':<{_WIDTH}} {'':>12} {'':>14} {'':>10}  "
                f"failed: {stage['problem']}"
            )
        if not stage["checks"] and not stage["problem"]:
            lines.append(
                f"{stage['stage']:<9} {'(no gates)':<{_WIDTH}} {'':>12} {'':>14} {'':>10}  "
                f"{stage['verdict']}"
            )
        for check in stage["checks"]:
            limit = f"{rule_text(check['rule'])} {check['threshold']:.6g}"
            lines.append(
                f"{stage['stage']:<9} {check['name'][:_WIDTH]:<{_WIDTH}} "
                f"{number_text(check['value']):>12} {limit:>14} {signed_text(check['delta']):>10}  "
                f"{check['verdict']}"
            )
    failures = _failures(report)
    if failures:
        lines += ["", "Failed:"] + [f"  {name}: {message}" for name, message in failures]
    for stage in report["stages"]:
        if stage.get("output_tail"):
            # What a failing command said last, so that no one has to open the log first.
            tail = stage["output_tail"].rstrip("\n").splitlines()[-TAIL_LINES:]
            lines += ["", f"The end of {stage['stage']}'s output ({stage['log']}):"]
            lines += [f"  | {line}" for line in tail]
    for stage in report["stages"]:
        for entry in stage.get("data", []):
            lines.append(
                f"data {entry['name']}: {entry['file']}, {entry['rows']:,} rows, "
                f"blake3 {entry['fingerprint']['blake3'][:16]}…"
            )
    return "\n".join(lines) + "\n"


TAIL_LINES = 20


def _failures(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (check["name"], check["message"])
        for stage in report["stages"]
        for check in stage["checks"]
        if check["verdict"] == "failed"
    ]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"### {report['summary']}",
        "",
        "| stage | check | value | limit | vs production | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for stage in report["stages"]:
        if stage["problem"]:
            lines.append(f"| {stage['stage']} | (stage) | | | | ❌ {cell(stage['problem'])} |")
        for check in stage["checks"]:
            lines.append(
                f"| {stage['stage']} | `{cell(check['name'])}` | {number_text(check['value'])} | "
                f"{rule_text(check['rule'])} {check['threshold']:.6g} | "
                f"{signed_text(check['delta'])} | {MARK[check['verdict']]} |"
            )
    failures = _failures(report)
    if failures:
        lines += ["", "**Failed**", ""]
        lines += [f"- `{cell(name)}`: {cell(message)}" for name, message in failures]
    data = [entry for stage in report["stages"] for entry in stage.get("data", [])]
    if data:
        lines += ["", "| data set | file | rows | blake3 | schema |", "|---|---|---:|---|---|"]
        lines += [
            f"| {cell(e['name'])} | `{cell(e['file'])}` | {e['rows']:,} | "
            f"`{e['fingerprint']['blake3'][:16]}…` | `{e['fingerprint']['schema_sha256'][:12]}…` |"
            for e in data
        ]
    return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (it may come from a metrics file)."""
    return text.replace("|", "\\|").replace("\n", " ")[:200]
