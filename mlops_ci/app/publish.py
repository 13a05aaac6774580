"""``release publish``: after a release pull request merged, the tag at the merge commit,
the image promoted by digest, MLflow's aliases moved, a GitHub release, the pull request
labelled; each step checks whether it is done already."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.app.context import REMOTE, Context
from mlops_ci.app.image import ImageTools, image_settings
from mlops_ci.app.promote import tag_image
from mlops_ci.app.release import IDENTITY
from mlops_ci.app.signing import Trust, ensure_trusted
from mlops_ci.core.codehost import PullRequest
from mlops_ci.core.history import tag_name
from mlops_ci.core.image_reference import parse_reference
from mlops_ci.core.records import PUBLISHED, StageRecord
from mlops_ci.core.release import parse_marker, release_notes_of
from mlops_ci.core.versions import parse_version
from mlops_ci.errors import UsageError
from mlops_ci.manifest.loader import load_manifest
from mlops_ci.manifest.model import Manifest
from mlops_ci.ports import CodeHost, Vcs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    version: str
    candidate: str
    environment: str | None
    tag: str
    digest: str
    release_url: str
    already: bool


def release_publish(
    context: Context, github: CodeHost, tools: ImageTools, trust: Trust | None = None
) -> Published:
    """After a release pull request merged into the base branch: the tag at the merge
    commit, the image promoted by digest, MLflow's aliases moved, a GitHub release, the pull
    request labelled. Each step checks whether it is done already, so a second publish (or
    one that runs at the same time) finishes with "already released". With ``trust``
    (release.image.signing) the image is checked first: unsigned, or without a passed gates
    attestation, nothing at all is done."""
    manifest = context.manifest
    head = context.vcs.head()
    if head is None:
        raise UsageError("this repository has no commit; publish runs on the merged base branch")
    pull, marker = _merged_release(context, github, head)
    candidate, environment, digest = marker["candidate"], marker["environment"], marker["digest"]
    final = str(parse_version(candidate, manifest.versioning.scheme).final)
    tag = tag_name(manifest.versioning.tag, manifest.model.name, final)
    if trust is not None:
        ensure_trusted(context, candidate, digest, tools, trust)
    tag_made = _tag(context, tag, head, f"{manifest.model.name} {final}")
    _promote(context, tools, digest, final, environment)
    tracker = context.tracker_to_tell()  # or told by the sync at the end (its aliases too)
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
                tracker.move_alias(alias, candidate, context.clock.now())
    release, release_made = github.create_release(
        tag, f"{manifest.model.name} {final}", release_notes_of(pull.body), head
    )
    if "released" not in pull.labels:
        github.add_labels(pull.number, ["released"])
    if (
        tag_made
        or release_made
        or context.store.read(manifest.model.name, final, PUBLISHED) is None
    ):
        # Written whenever git lacks it: a publish cut short after the tag still records.
        context.store.write(
            StageRecord(
                model=manifest.model.name,
                version=final,
                stage=PUBLISHED,
                verdict="passed",
                state="released",
                started_at=context.clock.now(),
                finished_at=context.clock.now(),
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
    context: Context, github: CodeHost, head: str
) -> tuple[PullRequest, dict[str, Any]]:
    model = context.manifest.model.name
    for pull in github.pulls_of_commit(head):
        marker = parse_marker(pull.body)
        if pull.merged and marker is not None and marker.get("model") == model:
            return pull, marker
    raise UsageError(
        f"HEAD ({head[:12]}) is not the merge of a release pull request of {model}; "
        "run publish on the base branch right after the merge"
    )


def released_model(github: CodeHost, head: str) -> str | None:
    """The model whose release pull request merged as ``head``, from its marker."""
    for pull in github.pulls_of_commit(head):
        marker = parse_marker(pull.body)
        if pull.merged and marker is not None:
            return str(marker["model"])
    return None


def _tag(context: Context, tag: str, commit: str, message: str) -> bool:
    """The annotated tag at ``commit``, here and on the remote; False when it was there
    already at that commit. At another commit: a hard error, and nothing else is done."""
    git = context.vcs.authenticated(context.environ)
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
        git.create_tag(tag, commit, message, IDENTITY)
    pushed = git.push_tag(REMOTE, tag)  # refused: another publish may have pushed it first
    after = git.remote_tag(REMOTE, tag)
    if after != commit:
        raise UsageError(f"the tag {tag} could not be pushed to {REMOTE} at {commit[:12]}")
    return pushed


def _promote(
    context: Context, tools: ImageTools, digest: str, version: str, environment: str | None
) -> None:
    reference = parse_reference(image_settings(context).repository)
    tag_image(tools, reference, digest, version, environment)


def merged_model_manifest(vcs: Vcs, github: CodeHost, repository: Path) -> Manifest:
    """The manifest of the model whose release pull request merged as HEAD, among those
    git tracks (a monorepo's one publish job)."""
    head = vcs.head()
    model = released_model(github, head) if head else None
    if model is None:
        raise UsageError(
            f"HEAD ({(head or 'no commit')[:12]}) is not the merge of a release pull request; "
            "run publish on the base branch right after the merge"
        )
    for path in vcs.tracked_manifests():
        manifest = load_manifest(path)
        if manifest.model.name == model:
            return manifest
    raise UsageError(f"no mlops.yaml tracked in {repository} names the model {model}")
