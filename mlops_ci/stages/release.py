"""``release pr``: the release plan of a validated candidate applied, one commit on top of
the latest base branch, one pull request per model and environment, kept up to date.

Idempotent: the branch is deterministic; a commit whose tree and parent are what the branch
already holds is not pushed; an open pull request for the branch is updated in place, and
only when its text changed. Nothing changed means no write at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.adapters.git import GitError
from mlops_ci.adapters.github import GitHub, PullRequest
from mlops_ci.core.history import tag_name
from mlops_ci.core.image_reference import parse_reference, registry_tag
from mlops_ci.core.records import StageRecord
from mlops_ci.core.release import Candidate, ReleasePlan, Target, plan_release
from mlops_ci.core.versions import parse_version
from mlops_ci.errors import UsageError
from mlops_ci.manifest.model import Environment
from mlops_ci.stages.candidates import current_candidate, latest_state, production_metrics
from mlops_ci.stages.image import (
    DockerBuilt,
    ImageTools,
    image_settings,
    load_image,
    tag_image,
)
from mlops_ci.stages.workspace import StageInputError, Workspace

REMOTE = "origin"
log = logging.getLogger(__name__)
IDENTITY = ("mlops-ci", "mlops-ci@users.noreply.github.com")
PUBLISHED = "publish"


@dataclass(frozen=True)
class ReleasePr:
    plan: ReleasePlan
    pull: PullRequest
    created: bool
    pushed: bool
    edited: bool


def release_pr(
    workspace: Workspace,
    github: GitHub,
    tools: ImageTools,
    *,
    version: str | None,
    environment: str | None,
    rollback_to: str | None = None,
) -> ReleasePr:
    manifest = workspace.manifest
    release = manifest.release
    if release is None or not release.environments:
        raise StageInputError(
            f"{manifest.path}: the manifest has no release.environments; add one with its "
            "deploy targets (`mlops-ci deploy init` writes them)"
        )
    if rollback_to is not None:
        target = _rollback_environment(release.environments, environment)
        candidate = _earlier_release(workspace, rollback_to, tools)
    else:
        record = current_candidate(workspace, version)
        state = latest_state(workspace, record)
        if state != "validated":
            raise UsageError(f"{record.version} is {state}; only a validated candidate is released")
        final = str(parse_version(record.version, manifest.versioning.scheme).final)
        target = _environment(workspace, release.environments, environment, final)
        candidate = _candidate(workspace, record, final, tools)
    base = release.pull_request.base
    git = workspace.git.authenticated(workspace.environ)
    base_sha = git.fetch(REMOTE, base)
    repository = manifest.repository
    manifest_path = manifest.path.resolve().relative_to(repository).as_posix()
    changelog_path = (manifest.root / "CHANGELOG.md").relative_to(repository).as_posix()

    def at_base(path: str) -> str | None:
        data = git.show(base_sha, path)
        return data.decode() if data is not None else None

    manifest_text = at_base(manifest_path)
    if manifest_text is None:
        raise StageInputError(f"{manifest_path} is not on {base}; commit and push it first")
    targets = []
    for deploy in target.targets:
        path = deploy.path.relative_to(repository).as_posix()
        text = at_base(path)
        if text is None:
            raise StageInputError(
                f"{path} (a target of {target.name}) is not on {base}; commit and push it"
            )
        targets.append(Target(deploy.kind, path, text))
    plan = plan_release(
        model=manifest.model.name,
        environment=target.name if len(release.environments) > 1 else None,
        strategy=target.strategy,
        candidate=candidate,
        manifest_path=manifest_path,
        manifest_text=manifest_text,
        targets=targets,
        changelog=at_base(changelog_path),
        today=workspace.now().date(),
        changelog_path=changelog_path,
        rollback=rollback_to is not None,
    )
    pushed = _push(workspace, plan, base_sha)
    pull = github.open_pull(plan.branch, base)
    created = edited = False
    if pull is None:
        pull = github.create_pull(plan.title, plan.body, plan.branch, base)
        created = True
        if (pull.title, pull.body.strip()) != (plan.title, plan.body.strip()):
            # Another run opened it first (GitHub said 422): this one's text wins.
            github.update_pull(pull.number, plan.title, plan.body)
        if release.pull_request.labels:
            github.add_labels(pull.number, release.pull_request.labels)
        if release.pull_request.reviewers:
            github.request_reviewers(pull.number, release.pull_request.reviewers)
    elif (pull.title, pull.body.strip()) != (plan.title, plan.body.strip()):
        github.update_pull(pull.number, plan.title, plan.body)
        edited = True
    return ReleasePr(plan, pull, created, pushed, edited)


def _push(workspace: Workspace, plan: ReleasePlan, base_sha: str) -> bool:
    """One commit with every change, on ``base_sha``; pushed unless the branch already
    holds the same tree on the same base."""
    git = workspace.git.authenticated(workspace.environ)
    files = {}
    for change in plan.changes:
        before = git.show(base_sha, change.path)
        if before is None or before.decode() != change.text:
            files[change.path] = change.text.encode()
    commit = git.commit_files(base_sha, files, plan.commit_message, IDENTITY)
    remote = git.remote_branch(REMOTE, plan.branch)
    if remote is not None:
        git.fetch(REMOTE, plan.branch)
        if git.parents(remote) == [base_sha] and git.same_tree(remote, commit):
            return False
    git.push_branch(REMOTE, commit, plan.branch, expected=remote)
    return True


def _environment(
    workspace: Workspace, environments: Sequence[Environment], name: str | None, final: str
) -> Environment:
    """The environment asked for, or the first one this version has not reached; an
    environment opens only after the one before it was released."""
    published = {
        str(r.details.get("environment"))
        for r in workspace.records()
        if r.stage == PUBLISHED and r.version == final
    }
    if name is None:
        waiting = [e for e in environments if e.name not in published]
        if not waiting:
            raise UsageError(f"{final} is released to every environment already")
        chosen = waiting[0]
    else:
        found = [e for e in environments if e.name == name]
        if not found:
            names = ", ".join(e.name for e in environments)
            raise UsageError(f"--environment {name!r} is not in release.environments ({names})")
        chosen = found[0]
    index = list(environments).index(chosen)
    if index > 0 and environments[index - 1].name not in published:
        before = environments[index - 1].name
        raise UsageError(
            f"{chosen.name} opens after {before}: merge the {before} release pull request and "
            "run `mlops-ci release publish` first"
        )
    return chosen


def _rollback_environment(environments: Sequence[Environment], name: str | None) -> Environment:
    """Where a rollback goes: the environment named, else the last (production)."""
    if name is None:
        return environments[-1]
    for environment in environments:
        if environment.name == name:
            return environment
    names = ", ".join(e.name for e in environments)
    raise UsageError(f"--environment {name!r} is not in release.environments ({names})")


def _earlier_release(workspace: Workspace, version: str, tools: ImageTools) -> Candidate:
    """A version released before, as the plan's candidate: its image by digest from the
    registry (the tag publish made), its metrics when the records have them."""
    manifest = workspace.manifest
    release = parse_version(version, manifest.versioning.scheme)
    if release.is_candidate:
        raise UsageError(
            f"--rollback-to {version}: name a released version (X.Y.Z), not a candidate"
        )
    settings = image_settings(workspace)
    reference = parse_reference(settings.repository)
    digest = tools.registry(reference).manifest_digest(reference.repository, registry_tag(version))
    if digest is None:
        raise UsageError(
            f"--rollback-to {version}: {reference.name}:{registry_tag(version)} is not in the "
            "registry; only a published version can be rolled back to"
        )
    published = [r for r in workspace.records() if r.stage == PUBLISHED and r.version == version]
    candidate = str(published[-1].details.get("candidate")) if published else version
    test = [r for r in workspace.records() if r.stage == "test" and r.version == candidate]
    production = production_metrics(workspace)
    return Candidate(
        version=version,
        release_version=version,
        digest=digest,
        repository=settings.repository,
        metrics=dict(test[-1].metrics) if test else {},
        production=production[0] if production else None,
        production_metrics=production[1] if production else {},
    )


def _candidate(
    workspace: Workspace, record: StageRecord, final: str, tools: ImageTools
) -> Candidate:
    manifest = workspace.manifest
    settings = image_settings(workspace)
    if settings.repository.startswith("oci:"):
        raise StageInputError("a release needs release.image.repository in a registry")
    reference = parse_reference(settings.repository)
    image = load_image(workspace, record.version)
    registry = tools.registry(reference)
    pushed = registry.manifest_digest(reference.repository, registry_tag(record.version))
    expected = None if isinstance(image, DockerBuilt) else image.digest
    if pushed is None or (expected is not None and pushed != expected):
        raise StageInputError(
            f"{reference.name}:{registry_tag(record.version)} is not the image built for "
            f"{record.version}; run `mlops-ci image push` first"
        )
    mine = [r for r in workspace.records() if r.version == record.version]
    gates = tuple(
        g
        for r in mine
        if r.stage in ("ingest", "test", "validate")
        for g in r.details.get("gates", [])
    )
    measured = _measured(mine)
    ingest = next((r for r in mine if r.stage == "ingest"), None)
    production = production_metrics(workspace)
    since = tag_name(manifest.versioning.tag, manifest.model.name, manifest.model.version)
    known = {tag.name for tag in workspace.git.tags()}
    folder = manifest.root.relative_to(manifest.repository).as_posix()
    commits = workspace.git.commits(
        since if since in known else None, [] if folder == "." else [folder]
    )
    return Candidate(
        version=record.version,
        release_version=final,
        digest=pushed,
        repository=settings.repository,
        gates=gates,
        metrics=measured,
        production=production[0] if production else None,
        production_metrics={
            **(production[1] if production else {}),
            **_production_validate(workspace),
        },
        data=tuple(ingest.details.get("data", [])) if ingest else (),
        commits=tuple((c.sha, c.message.splitlines()[0] if c.message else "") for c in commits),
        history=_history(workspace),
    )


def _measured(records: Sequence[StageRecord]) -> dict[str, float]:
    """The candidate's test metrics, and its size, latency and memory from validate."""
    found: dict[str, float] = {}
    for stage in ("test", "validate"):
        for record in records:
            if record.stage == stage:
                found.update(record.metrics)
    return found


def _production_validate(workspace: Workspace) -> dict[str, float]:
    """Size, latency and memory of the version in production, from its candidate's
    validate record when this repository has it."""
    scheme = workspace.manifest.versioning.scheme
    production = str(parse_version(workspace.manifest.model.version, scheme))
    for record in workspace.records():
        passed = record.stage == "validate" and record.verdict == "passed"
        if passed and str(parse_version(record.version, scheme).final) == production:
            return dict(record.metrics)
    return {}


def _history(workspace: Workspace) -> tuple[tuple[str, dict[str, float]], ...]:
    """Released versions' test metrics, oldest first (the chart's earlier points)."""
    released = {r.version for r in workspace.records() if r.stage == PUBLISHED}
    tests = [r for r in workspace.records() if r.stage == "test" and r.verdict == "passed"]
    scheme = workspace.manifest.versioning.scheme
    points = []
    for record in sorted(tests, key=lambda r: r.finished_at):
        final = str(parse_version(record.version, scheme).final)
        if final in released:
            points.append((final, dict(record.metrics)))
    return tuple(points)


@dataclass(frozen=True)
class Published:
    version: str
    candidate: str
    environment: str | None
    tag: str
    digest: str
    release_url: str
    already: bool


def release_publish(workspace: Workspace, github: GitHub, tools: ImageTools) -> Published:
    """After a release pull request merged into the base branch: the tag at the merge
    commit, the image promoted by digest, MLflow's aliases moved, a GitHub release, the pull
    request labelled. Each step checks whether it is done already, so a second publish (or
    one that runs at the same time) finishes with "already released"."""
    manifest = workspace.manifest
    head = workspace.git.head()
    if head is None:
        raise UsageError("this repository has no commit; publish runs on the merged base branch")
    pull, marker = _merged_release(workspace, github, head)
    candidate, environment, digest = marker["candidate"], marker["environment"], marker["digest"]
    final = str(parse_version(candidate, manifest.versioning.scheme).final)
    tag = tag_name(manifest.versioning.tag, manifest.model.name, final)
    tag_made = _tag(workspace, tag, head, f"{manifest.model.name} {final}")
    _promote(workspace, tools, digest, final, environment)
    tracker = workspace.tracker()
    if tracker is not None:
        aliases = {environment or "production"}
        if environment is None or environment == "production":
            aliases.add("production")
        if tracker.model_version_of(candidate) is None:
            log.warning(
                "%s is not registered in MLflow (built with --no-tracking?); its aliases were "
                "not moved: `mlops-ci sync` registers it, then publish again",
                candidate,
            )
        else:
            for alias in sorted(aliases):
                tracker.move_alias(alias, candidate, workspace.now())
    release, release_made = github.create_release(
        tag, f"{manifest.model.name} {final}", _notes(pull.body), head
    )
    if "released" not in pull.labels:
        github.add_labels(pull.number, ["released"])
    if tag_made or release_made:
        workspace.store.write(
            StageRecord(
                model=manifest.model.name,
                version=final,
                stage=PUBLISHED,
                verdict="passed",
                state="released",
                started_at=workspace.now(),
                finished_at=workspace.now(),
                git_sha=head,
                details={
                    "environment": environment,
                    "candidate": candidate,
                    "digest": digest,
                    "pull_request": pull.number,
                    "release": release.get("url"),
                },
                image_digest=digest,
            )
        )
    return Published(
        final, candidate, environment, tag, digest, str(release.get("url", "")),
        already=not (tag_made or release_made),
    )  # fmt: skip


def _merged_release(
    workspace: Workspace, github: GitHub, head: str
) -> tuple[PullRequest, dict[str, Any]]:
    model = workspace.manifest.model.name
    for pull in github.pulls_of_commit(head):
        marker = _marker(pull.body)
        if pull.merged and marker is not None and marker.get("model") == model:
            return pull, marker
    raise UsageError(
        f"HEAD ({head[:12]}) is not the merge of a release pull request of {model}; "
        "run publish on the base branch right after the merge"
    )


def released_model(github: GitHub, head: str) -> str | None:
    """The model whose release pull request merged as ``head``, from its marker."""
    for pull in github.pulls_of_commit(head):
        marker = _marker(pull.body)
        if pull.merged and marker is not None:
            return str(marker["model"])
    return None


def _marker(body: str) -> dict[str, Any] | None:
    from mlops_ci.core.release import MARKER

    start = body.rfind(MARKER)
    if start < 0:
        return None
    fields = dict(
        part.split("=", 1)
        for part in body[start + len(MARKER) :].split("-->", maxsplit=1)[0].split()
        if "=" in part
    )
    if not {"model", "candidate", "digest"} <= fields.keys():
        return None
    environment = fields.get("environment")
    return {**fields, "environment": None if environment in (None, "-") else environment}


def _tag(workspace: Workspace, tag: str, commit: str, message: str) -> bool:
    """The annotated tag at ``commit``, here and on the remote; False when it was there
    already at that commit. At another commit: a hard error, and nothing else is done."""
    git = workspace.git.authenticated(workspace.environ)
    remote = git.remote_tag(REMOTE, tag)
    local = next((t for t in git.tags() if t.name == tag), None)
    for where, found in (("on origin", remote), ("here", local.commit if local else None)):
        if found is not None and found != commit:
            raise UsageError(
                f"the tag {tag} exists {where} at {found[:12]}, not at the merge {commit[:12]}; "
                "nothing was published: fix the tag by hand"
            )
    if remote is not None:
        return False
    if local is None:
        git.run("-c", f"user.name={IDENTITY[0]}", "-c", f"user.email={IDENTITY[1]}",
                "tag", "-a", "-m", message, tag, commit)  # fmt: skip
    try:
        git.run("push", "--quiet", REMOTE, f"refs/tags/{tag}")
        pushed = True
    except GitError:
        pushed = False  # another publish may have pushed it first: look
    after = git.remote_tag(REMOTE, tag)
    if after != commit:
        raise UsageError(f"the tag {tag} could not be pushed to {REMOTE} at {commit[:12]}")
    return pushed


def _promote(
    workspace: Workspace, tools: ImageTools, digest: str, version: str, environment: str | None
) -> None:
    reference = parse_reference(image_settings(workspace).repository)
    tag_image(tools, reference, digest, version, environment)


def _notes(body: str) -> str:
    from mlops_ci.core.release import MARKER

    return body.split(MARKER, maxsplit=1)[0].rstrip() + "\n"
