"""What a release pull request says of its candidate, gathered from the records, the
registry and git: its image by digest, gates, metrics against production, data, commits
and the history of released versions."""

from __future__ import annotations

from dataclasses import replace

from mlops_ci.app.candidates import candidate_evidence, production_metrics
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.app.image import DockerBuilt, ImageTools, image_settings, load_image
from mlops_ci.app.model_card import card_subject
from mlops_ci.app.modelpack import find_modelpack
from mlops_ci.core.history import tag_name
from mlops_ci.core.image_reference import parse_reference, registry_tag
from mlops_ci.core.production import production_test
from mlops_ci.core.records import PUBLISHED, StageRecord
from mlops_ci.core.release import Candidate
from mlops_ci.core.versions import parse_version
from mlops_ci.errors import UsageError
from mlops_ci.report.model_card import model_card


def earlier_release(context: Context, version: str, tools: ImageTools) -> Candidate:
    """A version released before, as the plan's candidate: its image by digest from the
    registry (the tag publish made), its metrics when the records have them."""
    manifest = context.manifest
    release = parse_version(version, manifest.versioning.scheme)
    if release.is_candidate:
        raise UsageError(
            f"--rollback-to {version}: name a released version (X.Y.Z), not a candidate"
        )
    settings = image_settings(context)
    reference = parse_reference(settings.repository)
    digest = tools.registry(reference).manifest_digest(reference.repository, registry_tag(version))
    if digest is None:
        raise UsageError(
            f"--rollback-to {version}: {reference.name}:{registry_tag(version)} is not in the "
            "registry; only a published version can be rolled back to"
        )
    published = [r for r in context.records() if r.stage == PUBLISHED and r.version == version]
    candidate = str(published[-1].details.get("candidate")) if published else version
    test = [r for r in context.records() if r.stage == "test" and r.version == candidate]
    production = production_metrics(context)
    return Candidate(
        version=version,
        release_version=version,
        digest=digest,
        repository=settings.repository,
        modelpack_digest=find_modelpack(tools.registry(reference), reference, digest),
        metrics=dict(test[-1].metrics) if test else {},
        production=production[0] if production else None,
        production_metrics=production[1] if production else {},
    )


def release_candidate(
    context: Context, record: StageRecord, final: str, tools: ImageTools
) -> Candidate:
    manifest = context.manifest
    settings = image_settings(context)
    if settings.repository.startswith("oci:"):
        raise StageInputError("a release needs release.image.repository in a registry")
    reference = parse_reference(settings.repository)
    image = load_image(context, record.version)
    registry = tools.registry(reference)
    pushed = registry.manifest_digest(reference.repository, registry_tag(record.version))
    expected = None if isinstance(image, DockerBuilt) else image.digest
    if pushed is None or (expected is not None and pushed != expected):
        raise StageInputError(
            f"{reference.name}:{registry_tag(record.version)} is not the image built for "
            f"{record.version}; run `mlops-ci image push` first"
        )
    gates, measured, data = candidate_evidence(context, record.version)
    production = production_metrics(context)
    since = tag_name(manifest.versioning.tag, manifest.model.name, manifest.model.version)
    known = {tag.name for tag in context.vcs.tags()}
    folder = manifest.root.relative_to(manifest.repository).as_posix()
    commits = context.vcs.commits(
        since if since in known else None, [] if folder == "." else [folder]
    )
    candidate = Candidate(
        version=record.version,
        release_version=final,
        digest=pushed,
        repository=settings.repository,
        gates=gates,
        metrics=measured,
        production=production[0] if production else None,
        production_metrics={
            **(production[1] if production else {}),
            **_production_validate(context),
        },
        data=data,
        commits=tuple((c.sha, c.message.splitlines()[0] if c.message else "") for c in commits),
        history=_history(context),
        modelpack_digest=find_modelpack(registry, reference, pushed),
    )
    return replace(candidate, card=model_card(card_subject(manifest), candidate))


def _production_validate(context: Context) -> dict[str, float]:
    """Size, latency and memory of the version in production, from the validate record
    of the candidate it was released from (the one production's test metrics come from)."""
    records = context.records()
    manifest = context.manifest
    tested = production_test(
        records, manifest.model.version, manifest.versioning.scheme, context.on_history
    )
    for record in records:
        passed = record.stage == "validate" and record.verdict == "passed"
        if passed and tested is not None and record.version == tested.version:
            return dict(record.metrics)
    return {}


def _history(context: Context) -> tuple[tuple[str, dict[str, float]], ...]:
    """Released versions' test metrics, oldest first (the chart's earlier points)."""
    released = {r.version for r in context.records() if r.stage == PUBLISHED}
    tests = [r for r in context.records() if r.stage == "test" and r.verdict == "passed"]
    scheme = context.manifest.versioning.scheme
    points = []
    for record in sorted(tests, key=lambda r: r.finished_at):
        final = str(parse_version(record.version, scheme).final)
        if final in released:
            points.append((final, dict(record.metrics)))
    return tuple(points)
