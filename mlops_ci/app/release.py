"""``release pr``: the release plan of a validated candidate applied, one commit on top of
the latest base branch, one pull request per model and environment, kept up to date.

Idempotent: the branch is deterministic; a commit whose tree and parent are what the branch
already holds is not pushed; an open pull request for the branch is updated in place, and
only when its text changed. Nothing changed means no write at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.app.candidates import current_candidate, latest_state
from mlops_ci.app.context import REMOTE, Context, StageInputError
from mlops_ci.app.image import ImageTools
from mlops_ci.app.release_facts import earlier_release, release_candidate
from mlops_ci.app.release_plan import plan_release
from mlops_ci.core.codehost import PullRequest
from mlops_ci.core.records import PUBLISHED
from mlops_ci.core.release import ReleasePlan, Target
from mlops_ci.core.versions import parse_version
from mlops_ci.errors import UsageError
from mlops_ci.manifest.model import Environment
from mlops_ci.ports import CodeHost

IDENTITY = ("mlops-ci", "mlops-ci@users.noreply.github.com")


@dataclass(frozen=True)
class ReleasePr:
    plan: ReleasePlan
    pull: PullRequest
    created: bool
    pushed: bool
    edited: bool


def release_pr(
    context: Context,
    github: CodeHost,
    tools: ImageTools,
    *,
    version: str | None,
    environment: str | None,
    rollback_to: str | None = None,
) -> ReleasePr:
    manifest = context.manifest
    release = manifest.release
    if release is None or not release.environments:
        raise StageInputError(
            f"{manifest.path}: the manifest has no release.environments; add one with its "
            "deploy targets (`mlops-ci deploy init` writes them)"
        )
    if rollback_to is not None:
        target = _rollback_environment(release.environments, environment)
        candidate = earlier_release(context, rollback_to, tools)
    else:
        record = current_candidate(context, version)
        state = latest_state(context, record)
        if state != "validated":
            raise UsageError(f"{record.version} is {state}; only a validated candidate is released")
        final = str(parse_version(record.version, manifest.versioning.scheme).final)
        target = _environment(context, release.environments, environment, final)
        candidate = release_candidate(context, record, final, tools)
    base = release.pull_request.base
    git = context.vcs.authenticated(context.environ)
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
        today=context.clock.now().date(),
        changelog_path=changelog_path,
        rollback=rollback_to is not None,
    )
    pushed = _push(context, plan, base_sha)
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
        # The owners first: the schema promises they are asked to review.
        reviewers = (*context.manifest.model.owners, *release.pull_request.reviewers)
        if reviewers:
            github.request_reviewers(pull.number, reviewers)
    elif (pull.title, pull.body.strip()) != (plan.title, plan.body.strip()):
        github.update_pull(pull.number, plan.title, plan.body)
        edited = True
    return ReleasePr(plan, pull, created, pushed, edited)


def _push(context: Context, plan: ReleasePlan, base_sha: str) -> bool:
    """One commit with every change, on ``base_sha``; pushed unless the branch already
    holds the same tree on the same base."""
    git = context.vcs.authenticated(context.environ)
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
    context: Context, environments: Sequence[Environment], name: str | None, final: str
) -> Environment:
    """The environment asked for, or the first one this version has not reached; an
    environment opens only after the one before it was released."""
    published = {
        str(r.details.get("environment"))
        for r in context.records()
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
