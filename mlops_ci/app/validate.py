"""The validate stage: size, latency and memory of a tested candidate, and its outputs
against ``model.signature`` when the benchmark shows a sample prediction."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_ci.app.candidates import conclude, current_candidate, state_before
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.core.gates import GateResult, absolute_gates
from mlops_ci.core.results import StageResult
from mlops_ci.core.settings import Bounds
from mlops_ci.core.signature import Field, Signature, output_mismatches, signature_mismatches
from mlops_ci.files.artifacts import artifact_files
from mlops_ci.files.mlmodel import mlmodel_signature

MIB = 1024 * 1024


def run_validate(context: Context, version: str | None = None) -> StageResult:
    manifest = context.manifest
    validate, build = manifest.validate, manifest.build
    if validate is None or build is None:
        raise StageInputError(f"{manifest.path}: the manifest has no validate (or build) section")
    candidate = current_candidate(context, version)
    version = candidate.version
    current = state_before(context, version, "validate", "test")
    started = context.clock.now()
    details: dict[str, object] = {}
    measured: dict[str, float] = {}
    limits: list[tuple[str, Bounds]] = []
    log = None
    files = artifact_files(build.artifacts)
    measured["size_mib"] = sum(f.size for f in files) / MIB
    if validate.max_size is not None:
        limits.append(("size_mib", Bounds(max=validate.max_size / MIB)))
    if validate.latency is not None:
        result = context.run(
            "validate.latency.command", validate.latency.command, version, "validate"
        )
        log = result.log
        measured["peak_rss_mib"] = result.peak_rss_bytes / MIB
        details.update(
            command=list(result.argv), exit_code=result.exit_code, seconds=round(result.seconds, 3)
        )
        if result.exit_code != 0:
            details.update(
                problem="validate.latency.command failed", output_tail=result.output_tail
            )
        else:
            printed = _printed(result.log.read_text(encoding="utf-8", errors="replace"))
            measured.update(_latency(printed, details))
            if manifest.model.signature is not None and "outputs" in printed:
                _hold_to_signature(manifest.model.signature.outputs, printed["outputs"], details)
        for name, limit in (
            ("p50_ms", validate.latency.p50_ms),
            ("p95_ms", validate.latency.p95_ms),
        ):
            if limit is not None:
                limits.append((name, Bounds(max=limit)))
    if manifest.model.signature is not None and (build.artifacts / "MLmodel").is_file():
        _hold_mlmodel(manifest.model.signature, build.artifacts / "MLmodel", details)
    if validate.max_memory is not None:
        limits.append(("peak_rss_mib", Bounds(max=validate.max_memory / MIB)))
    gates: list[GateResult] = absolute_gates(limits, measured)
    return conclude(
        context,
        candidate,
        stage="validate",
        current=current,
        target="validated",
        started=started,
        gates=gates,
        metrics=measured,
        details=details,
        log=log,
    )


def _printed(output: str) -> dict[str, object]:
    """The last line of the benchmark's output that is a JSON object with p50_ms or
    p95_ms, or else the last that is an object at all."""
    found: dict[str, object] = {}
    for line in reversed(output.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            if "p50_ms" in data or "p95_ms" in data:
                return data
            found = found or data
    return found


def _latency(printed: dict[str, object], details: dict[str, object]) -> dict[str, float]:
    found = {
        key: float(value)
        for key in ("p50_ms", "p95_ms")
        if isinstance(value := printed.get(key), int | float) and not isinstance(value, bool)
    }
    if not found:
        details.setdefault(
            "problem", "validate.latency.command printed no JSON with p50_ms or p95_ms"
        )
    return found


def _hold_mlmodel(declared: Signature, path: Path, details: dict[str, object]) -> None:
    """The signature MLflow wrote into the model files, against ``model.signature``."""
    try:
        logged = mlmodel_signature(path)
    except ValueError as error:
        details.setdefault(
            "problem", f"the MLmodel file of the model files {error}; fix it, or leave it out"
        )
        return
    if logged is not None:
        _record(signature_mismatches(declared, logged), details)


def _hold_to_signature(
    declared: tuple[Field, ...], sample: object, details: dict[str, object]
) -> None:
    """``outputs`` of the benchmark's JSON, the model's answer to its request, against
    the declared outputs; a mismatch fails the stage with its first sentence."""
    _record(output_mismatches(declared, sample), details)


def _record(mismatches: list[str], details: dict[str, object]) -> None:
    """The signature's verdict, with what an earlier check of it found; a mismatch fails
    the stage with its first sentence."""
    earlier = details.get("signature")
    found = [*(earlier["problems"] if isinstance(earlier, dict) else []), *mismatches]
    details["signature"] = {"verdict": "failed" if found else "passed", "problems": found}
    problem = details.get("problem")
    if found and (problem is None or str(problem).startswith("model.signature: ")):
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        details["problem"] = f"model.signature: {found[0]}{more}"
