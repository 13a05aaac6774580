"""The report of a lifecycle run: JSON (schemas/run-report.schema.json), a terminal table,
and Markdown for the step summary and pull requests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_ci.core.checksums import sha256sum_listing
from mlops_ci.core.results import StageResult
from mlops_ci.core.units import format_size
from mlops_ci.report.markdown import MARK, number_text, rule_text, signed_text

REPORT_SCHEMA = "mlops-ci/run-report/v1"
_WIDTH = 34  # the CHECK column at its narrowest when names fit
_NARROWEST = 20  # ... and when they must be cut to fit the terminal
_OTHER_COLUMNS = 9 + 1 + 1 + 12 + 1 + 14 + 1 + 10 + 2 + 7  # STAGE, VALUE, LIMIT, VS PROD, RESULT


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
                **(
                    {"signature": r.details["signature"]}
                    if isinstance(r.details.get("signature"), dict)
                    else {}
                ),
                **_data(r),
                **_artifacts(r),
            }
            for r in results
        ],
    }


def _artifacts(result: StageResult) -> dict[str, Any]:
    """What a build made: its files, their bytes and one digest of them all (the sha256 of
    the file list as ``sha256sum`` writes it: the image's ``/model.sha256``)."""
    files = result.details.get("files")
    if result.stage != "build" or not isinstance(files, list) or not files:
        return {}
    listing = sha256sum_listing((str(f["sha256"]), str(f["path"])) for f in files)
    return {
        "artifacts": {
            "files": len(files),
            "bytes": sum(int(f["size"]) for f in files),
            "sha256": hashlib.sha256(listing.encode()).hexdigest(),
            "seconds": result.details.get("seconds"),
        }
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


def terminal(report: dict[str, Any], columns: int | None = None) -> str:
    """The table; check names whole, or cut with an ellipsis to fit ``columns``."""
    names = [check["name"] for stage in report["stages"] for check in stage["checks"]]
    width = max([_WIDTH, *map(len, names)])
    if columns is not None:
        width = max(_NARROWEST, min(width, columns - _OTHER_COLUMNS))
    span = width + 1 + 12 + 1 + 14 + 1 + 10  # CHECK to VS PROD, for rows without numbers
    lines = [report["summary"], ""]
    lines.append(
        f"{'STAGE':<9} {'CHECK':<{width}} {'VALUE':>12} {'LIMIT':>14} {'VS PROD':>10}  RESULT"
    )
    for stage in report["stages"]:
        if stage["problem"]:
            lines.append(f"{stage['stage']:<9} {'(stage)':<{span}}  failed: {stage['problem']}")
        made = stage.get("artifacts")
        if made and not stage["problem"]:
            seconds = "" if made["seconds"] is None else f", in {made['seconds']:.1f} s"
            what = (
                f"artifacts: {made['files']:,} file{'' if made['files'] == 1 else 's'}, "
                f"{format_size(made['bytes'])}, sha256 {made['sha256'][:12]}{seconds}"
            )
            lines.append(f"{stage['stage']:<9} {_fit(what, span):<{span}}  {stage['verdict']}")
        elif not stage["checks"] and not stage["problem"]:
            lines.append(f"{stage['stage']:<9} {'(no gates)':<{span}}  {stage['verdict']}")
        for check in stage["checks"]:
            limit = f"{rule_text(check['rule'])} {check['threshold']:.6g}"
            lines.append(
                f"{stage['stage']:<9} {_fit(check['name'], width):<{width}} "
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
                f"blake3 {_digest(entry)}"
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
            f"`{_digest(e)}` | `{e['fingerprint']['schema_sha256'][:12]}…` |"
            for e in data
        ]
    return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (it may come from a metrics file)."""
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def _digest(entry: Mapping[str, Any]) -> str:
    """A data set's BLAKE3 digest, short; a table of an engine has none."""
    digest = entry["fingerprint"]["blake3"]
    return f"{digest[:16]}…" if digest else "none (a table)"
