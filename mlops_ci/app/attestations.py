"""``image attest`` and the attestation half of ``image verify``: what the records say of a
pushed candidate, as signed in-toto statements beside its image (core.attestation).

Three statements: SLSA provenance (the workflow, the commit, the data fingerprints), the
gates (each stage's verdict, each gate's value, threshold and result, production's version
and metrics) and the CycloneDX ML-BOM. Each is made from the records alone, with the times
the records hold, so the same facts make the same statement: a re-run finds it signed by
this key already and adds nothing. Verifying trusts nothing the registry says until the key
has vouched for the envelope, and then holds the statement to this image's digest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci import __version__
from mlops_ci.app.attachments import (
    Referrer,
    Subject,
    list_referrers,
    put_attachment,
    small_blob,
)
from mlops_ci.app.candidates import current_candidate, production_metrics
from mlops_ci.app.context import Context
from mlops_ci.core.attestation import (
    CYCLONEDX_BOM,
    DSSE_ENVELOPE,
    GATES,
    IN_TOTO_PAYLOAD,
    MOST_ENVELOPE_BYTES,
    SLSA_PROVENANCE,
    Material,
    attestation_layers,
    attestation_manifest_layer,
    attestation_tag,
    envelope,
    gates_passed,
    pre_authentication,
    provenance,
    read_envelope,
    statement,
    statement_problem,
)
from mlops_ci.core.oci import sha256_digest
from mlops_ci.core.record_details import recorded_data_sets, recorded_gates
from mlops_ci.core.records import StageRecord
from mlops_ci.core.referrers import attachment_manifest, referrer_descriptor
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.ports import SignatureChecker, Signer
from mlops_ci.report.bom import BomFacts, ModelFile, ml_bom

GATED_STAGES = ("ingest", "test", "validate")
_MOST_ENVIRONMENT_VALUE = 300  # workflow event data is untrusted: bounded, printable
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


class NotAttested(MlopsCiError):
    """No attestation the key made admits the image: a failed check (exit 1)."""

    exit_status = ExitStatus.CHECK_FAILED


@dataclass(frozen=True)
class AttestResult:
    reference: str
    digest: str
    attestation_tag: str
    added: tuple[str, ...]  # the predicate types attested now
    kept: tuple[str, ...]  # those this key had attested already, with the same statement


@dataclass(frozen=True)
class Attested:
    """A statement the key vouched for, of this image."""

    predicate_type: str
    predicate: Mapping[str, Any]


def candidate_statements(
    context: Context, version: str | None, subject: Subject, files: Sequence[ModelFile]
) -> list[tuple[str, bytes]]:
    """The candidate's three statements of ``subject``: (predicate type, statement)."""
    build = current_candidate(context, version)
    mine = sorted(
        (r for r in context.records() if r.version == build.version),
        key=lambda r: r.finished_at,
    )
    newest = {r.stage: r for r in mine}  # the newest record of each stage
    name, digest = subject.reference.name, subject.digest
    predicates = {
        SLSA_PROVENANCE: _provenance(context, build, newest),
        GATES: _gates(context, build, newest),
        CYCLONEDX_BOM: _bom(context, build, newest, subject, files),
    }
    return [
        (kind, statement(name, digest, kind, predicate)) for kind, predicate in predicates.items()
    ]


def attest_subject(
    subject: Subject, statements: Sequence[tuple[str, bytes]], key: Signer
) -> AttestResult:
    attested, referrer = write_attestations(subject, statements, key)
    list_referrers(subject, [referrer])
    return attested


def write_attestations(
    subject: Subject, statements: Sequence[tuple[str, bytes]], key: Signer
) -> tuple[AttestResult, Referrer]:
    """The statements the key has not made yet, signed beside the image; and the entry
    that lists the attestations among the image's referrers (list_referrers)."""
    reference, registry = subject.reference, subject.registry
    tag = attestation_tag(subject.digest)
    layers: list[dict[str, Any]] = []
    before: list[str] = []
    known = registry.find_manifest(reference.repository, tag)
    if known is not None:
        before.append(sha256_digest(known[0]))
        layers = [dict(layer) for layer in attestation_layers(known[0])]
    signed_already = {payload for _, payload in _vouched(subject, layers, key.public)}
    added, kept, new_envelopes = [], [], []
    for kind, made in statements:
        if made in signed_already:
            kept.append(kind)
            continue
        sealed = envelope(made, key.sign(pre_authentication(IN_TOTO_PAYLOAD, made)))
        layers.append(attestation_manifest_layer(sealed, sha256_digest(sealed), kind))
        new_envelopes.append(sealed)
        added.append(kind)
    result = AttestResult(str(reference), subject.digest, tag, tuple(added), tuple(kept))
    if not new_envelopes and known is not None:
        return result, Referrer(referrer_descriptor(known[0], before[0], DSSE_ENVELOPE))
    manifest, config = attachment_manifest(layers, subject.descriptor, DSSE_ENVELOPE)
    referrer = put_attachment(
        subject,
        tag,
        manifest,
        config,
        blobs=new_envelopes,
        artifact_type=DSSE_ENVELOPE,
        replaces=before,
    )
    return result, referrer


def verify_gates(subject: Subject, key: SignatureChecker) -> Attested:
    """The gates statement this key made of the image; raises NotAttested when there is
    none, or when the newest says a gate did not pass."""
    reference = subject.reference
    shown = f"{reference} ({subject.digest[:19]})"
    tag = attestation_tag(subject.digest)
    found = subject.registry.find_manifest(reference.repository, tag)
    if found is None:
        raise NotAttested(f"{shown} has no attestations: no {tag} beside it")
    body = found[0]
    layers = attestation_layers(body)
    problems: list[str] = []
    gates: list[Attested] = []
    for _, payload in _vouched(subject, layers, key, problems):
        made, problem = statement_problem(payload, reference.name, subject.digest)
        if made is None:
            problems.append(f"an attestation of this key: {problem}")
        elif made.predicate_type == GATES:
            gates.append(Attested(made.predicate_type, made.predicate))
    if not gates:
        why = "; ".join(dict.fromkeys(problems)) or "none of its attestations is of this key"
        raise NotAttested(f"{shown} has no gates attestation of this key: {why}")
    refused = gates_passed(gates[-1].predicate)
    if refused is not None:
        raise NotAttested(f"{shown} did not pass its gates: {refused}")
    return gates[-1]


def _vouched(
    subject: Subject,
    layers: Sequence[Mapping[str, Any]],
    key: SignatureChecker,
    problems: list[str] | None = None,
) -> Iterator[tuple[Mapping[str, Any], bytes]]:
    """The layers whose envelope has its digest's bytes and a signature of the key over
    its payload; with the payload."""
    for layer in layers:
        data = small_blob(
            subject.registry,
            subject.reference.repository,
            str(layer["digest"]),
            MOST_ENVELOPE_BYTES,
        )
        sealed = read_envelope(data) if data is not None else None
        if sealed is None:
            if problems is not None:
                problems.append("an attestation layer that cannot be read")
            continue
        if any(key.verifies(sealed.signed, signature) for signature in sealed.signatures):
            yield layer, sealed.payload
        elif problems is not None:
            problems.append("an attestation another key made (or bytes changed since)")


# -- the predicates, from the records -----------------------------------------------------


def _provenance(
    context: Context, build: StageRecord, newest: Mapping[str, StageRecord]
) -> dict[str, Any]:
    environ = context.environ
    server = ci_variable(environ, "GITHUB_SERVER_URL") or "https://github.com"
    repository = ci_variable(environ, "GITHUB_REPOSITORY")
    workflow = {
        key: value
        for key, value in {
            "repository": f"{server}/{repository}" if repository else "",
            "ref": ci_variable(environ, "GITHUB_REF"),
            "path": ci_variable(environ, "GITHUB_WORKFLOW_REF"),
        }.items()
        if value
    }
    source = f"git+{server}/{repository}" if repository else "git+local"
    materials = [Material(source, {"gitCommit": build.git_sha})] if build.git_sha else []
    ingest = newest.get("ingest")
    for data_set in recorded_data_sets(ingest) if ingest else ():
        if not data_set.blake3:
            continue  # a table of an engine: no bytes to digest
        materials.append(
            Material(f"data:{data_set.name}", {"blake3": data_set.blake3}, data_set.name)
        )
    run = ci_variable(environ, "GITHUB_RUN_ID")
    attempt = ci_variable(environ, "GITHUB_RUN_ATTEMPT") or "1"
    on_github = environ.get("GITHUB_ACTIONS") == "true" and repository
    stages = [newest[s] for s in ("build", *GATED_STAGES) if s in newest]
    return provenance(
        builder=f"{server}/{repository}/actions" if on_github else "https://mlops-ci.dev/local",
        workflow=workflow,
        materials=materials,
        invocation=f"{server}/{repository}/actions/runs/{run}/attempts/{attempt}"
        if on_github and run
        else None,
        started=min(r.started_at for r in stages).isoformat(),
        finished=max(r.finished_at for r in stages).isoformat(),
        parameters={
            "model": context.manifest.model.name,
            "version": build.version,
            "manifest_sha256": build.manifest_sha256 or "",
        },
    )


def _gates(
    context: Context, build: StageRecord, newest: Mapping[str, StageRecord]
) -> dict[str, Any]:
    manifest = context.manifest
    required = [
        stage
        for stage, declared in (
            ("ingest", bool(manifest.data)),
            ("test", manifest.test is not None),
            ("validate", manifest.validate is not None),
        )
        if declared
    ]
    stages: list[dict[str, Any]] = []
    for stage in GATED_STAGES:
        record = newest.get(stage)
        if record is None:
            if stage in required:
                stages.append({"stage": stage, "verdict": "missing", "gates": []})
            continue
        gates = [
            {k: v for k, v in gate.to_json().items() if k != "message"}
            for gate in recorded_gates(record)
        ]
        stages.append(
            {
                "stage": stage,
                "verdict": record.verdict,
                "finishedOn": record.finished_at.isoformat(),
                "gates": gates,
            }
        )
    passed = bool(stages) and all(s["verdict"] == "passed" for s in stages)
    production = production_metrics(context)
    return {
        "model": manifest.model.name,
        "version": build.version,
        "commit": build.git_sha,
        "result": "passed" if passed else "failed",
        "stages": stages,
        "production": {"version": production[0], "metrics": dict(production[1])}
        if production
        else None,
    }


def _bom(
    context: Context,
    build: StageRecord,
    newest: Mapping[str, StageRecord],
    subject: Subject,
    files: Sequence[ModelFile],
) -> dict[str, Any]:
    metrics: dict[str, float] = {}
    for stage in ("test", "validate"):
        if stage in newest:
            metrics.update(newest[stage].metrics)
    ingest = newest.get("ingest")
    model = context.manifest.model
    return ml_bom(
        BomFacts(
            model=model.name,
            version=build.version,
            image=subject.reference.name,
            digest=subject.digest,
            created=build.finished_at,
            tool_version=__version__,
            files=files,
            data=recorded_data_sets(ingest) if ingest else (),
            metrics=metrics,
            description=model.description or None,
        )
    )


def model_files(summary: Mapping[str, Any]) -> list[ModelFile]:
    """The files an image's model.json lists (``image inspect``'s reading of it)."""
    model = summary.get("model")
    entries = model.get("files") if isinstance(model, dict) else None
    files = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            try:
                files.append(
                    ModelFile(str(entry["path"]), int(entry["size"]), str(entry["sha256"]))
                )
            except (KeyError, TypeError, ValueError):
                continue
    return files


def ci_variable(environ: Mapping[str, str], name: str) -> str:
    """A GITHUB_* variable as a statement may carry it: printable and bounded (workflow
    event data is untrusted), empty when unset."""
    return _PRINTABLE.sub("", environ.get(name, ""))[:_MOST_ENVIRONMENT_VALUE]
