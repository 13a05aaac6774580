"""Release pull requests and publish on doubles: one branch, one pull request, one tag,
one release; nothing written twice."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlops_ci.app.image import DockerBuilt, ImageTools, state_path
from mlops_ci.app.lifecycle import run_stages
from mlops_ci.app.publish import release_publish
from mlops_ci.app.release import ReleasePr, release_pr
from mlops_ci.errors import UsageError
from mlops_ci.files.atomic import write_atomically
from tests.doubles.ports import World

REPOSITORY = "acme/churn-model"
MEDIA = "application/vnd.oci.image.manifest.v1+json"


def validated_candidate_with_image(world: World) -> str:
    """A validated candidate whose (docker-built) image is in the registry; its digest."""
    results = run_stages(world.context(), ["build", "test", "validate"], None, keep_going=False)
    version = results[-1].version
    built = DockerBuilt("churn", version, f"{REPOSITORY}:{version}", "sha256:" + "1" * 64, ())
    write_atomically(state_path(world.context(), version), json.dumps(built.to_json()).encode())
    return world.registry.add_image(REPOSITORY, version.replace("+", "_"), b'{"image": 1}', MEDIA)


def test_a_validated_candidate_gets_one_pull_request_that_pins_its_digest(world: World) -> None:
    digest = validated_candidate_with_image(world)
    done = release_pr(
        world.context(), world.code_host, world.image_tools(), version=None, environment=None
    )
    assert (done.created, done.pushed) == (True, True)
    branch = world.vcs.remote.branches["mlops-ci/release/churn"]
    assert world.vcs.parents(branch) == [world.vcs.remote.branches["main"]]
    deploy = world.vcs.show(branch, "deploy/app.yaml")
    assert deploy is not None
    assert f"registry.example/acme/churn-model:1.0.1@{digest}".encode() in deploy
    manifest = world.vcs.show(branch, "mlops.yaml")
    assert manifest is not None
    assert b"version: 1.0.1\n" in manifest
    pull = done.pull
    assert pull.title == "Release churn 1.0.1"
    assert f"candidate=1.0.1-rc.1 digest={digest}" in world.code_host.pulls[pull.number].body
    assert world.code_host.pulls[pull.number].labels == ("release",)
    assert world.code_host.reviewers[pull.number] == ["octocat"]


def test_the_model_owners_are_asked_to_review_first(world: World) -> None:
    model = dataclasses.replace(world.manifest.model, owners=("@acme/ml-team", "@octocat"))
    world.manifest = dataclasses.replace(world.manifest, model=model)
    validated_candidate_with_image(world)
    done = release_pr(
        world.context(), world.code_host, world.image_tools(), version=None, environment=None
    )
    # the adapter makes of them logins and team slugs (tests/adapters/test_github.py)
    assert world.code_host.reviewers[done.pull.number] == ["@acme/ml-team", "@octocat", "octocat"]


def test_a_second_run_writes_nothing(world: World) -> None:
    validated_candidate_with_image(world)
    tools = world.image_tools()
    release_pr(world.context(), world.code_host, tools, version=None, environment=None)
    writes, branch = world.code_host.writes, world.vcs.remote.branches["mlops-ci/release/churn"]
    again = release_pr(world.context(), world.code_host, tools, version=None, environment=None)
    assert (again.created, again.pushed, again.edited) == (False, False, False)
    assert world.code_host.writes == writes
    assert world.vcs.remote.branches["mlops-ci/release/churn"] == branch
    assert len(world.code_host.pulls) == 1


def test_only_a_validated_candidate_is_released(world: World) -> None:
    run_stages(world.context(), ["build"], None, keep_going=False)
    with pytest.raises(UsageError, match="is candidate; only a validated candidate"):
        release_pr(
            world.context(), world.code_host, world.image_tools(), version=None, environment=None
        )


def merged_release(world: World) -> tuple[str, ImageTools, ReleasePr, str]:
    """A validated candidate's release pull request, merged: main has the branch's commit.
    (The image's digest, the image tools, the release_pr outcome, the merge commit.)"""
    digest = validated_candidate_with_image(world)
    tools = world.image_tools()
    done = release_pr(world.context(), world.code_host, tools, version=None, environment=None)
    merged = world.vcs.remote.branches["mlops-ci/release/churn"]
    world.vcs.head_commit = merged
    world.vcs.push_head("main")
    world.code_host.merge(done.pull.number, merged)
    return digest, tools, done, merged


def test_publish_tags_promotes_and_releases_once(world: World) -> None:
    digest, tools, done, merged = merged_release(world)

    published = release_publish(world.context(), world.code_host, tools)
    assert (published.version, published.candidate, published.already) == (
        "1.0.1",
        "1.0.1-rc.1",
        False,
    )
    assert world.vcs.remote.tags["churn@1.0.1"] == merged
    assert world.registry.manifest_digest(REPOSITORY, "1.0.1") == digest
    assert "churn@1.0.1" in world.code_host.releases
    assert "released" in world.code_host.pulls[done.pull.number].labels
    assert world.tracker is not None
    assert world.tracker.alias_target("production") == "1.0.1-rc.1"
    record = world.store.saved[("churn", "1.0.1", "publish")]
    assert (record.state, record.image_digest) == ("released", digest)

    again = release_publish(world.context(), world.code_host, tools)
    assert again.already
    assert len(world.code_host.releases) == 1


def test_publish_refuses_a_tag_at_another_commit(world: World) -> None:
    validated_candidate_with_image(world)
    tools = world.image_tools()
    done = release_pr(world.context(), world.code_host, tools, version=None, environment=None)
    merged = world.vcs.remote.branches["mlops-ci/release/churn"]
    world.vcs.remote.tags["churn@1.0.1"] = world.vcs.remote.branches["main"]
    world.vcs.head_commit = merged
    world.code_host.merge(done.pull.number, merged)
    with pytest.raises(UsageError, match="exists on origin at"):
        release_publish(world.context(), world.code_host, tools)
    assert world.code_host.releases == {}


def test_a_rollback_pins_an_earlier_releases_digest_again(world: World) -> None:
    digest = world.registry.add_image(REPOSITORY, "1.0.0", b'{"image": 0}', MEDIA)
    done = release_pr(
        world.context(),
        world.code_host,
        world.image_tools(),
        version=None,
        environment=None,
        rollback_to="1.0.0",
    )
    assert done.pull.title == "Roll back churn to 1.0.0"
    branch = world.vcs.remote.branches[done.plan.branch]
    deploy = world.vcs.show(branch, "deploy/app.yaml")
    assert deploy is not None
    assert f"churn-model:1.0.0@{digest}".encode() in deploy


def test_publish_with_signing_releases_only_a_signed_image_that_passed_its_gates(
    world: World,
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from mlops_ci.adapters.signing_key import SigningKey
    from mlops_ci.app.attachments import subject_of
    from mlops_ci.app.attestations import attest_subject
    from mlops_ci.app.signing import NotSigned, Trust, sign_subject
    from mlops_ci.core.attestation import GATES, statement

    digest, tools, _, _ = merged_release(world)
    key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    trust = Trust(key.public)  # no private key where publish runs: it only checks

    with pytest.raises(NotSigned, match=r"is not signed.*Nothing was tagged"):
        release_publish(world.context(), world.code_host, tools, trust)
    assert "churn@1.0.1" not in world.vcs.remote.tags
    assert world.registry.manifest_digest(REPOSITORY, "1.0.1") is None
    assert world.code_host.releases == {}

    subject = subject_of(f"registry.example/{REPOSITORY}@{digest}", tools)
    sign_subject(subject, key)  # what `image sign` did in CI after the push
    gates = {"result": "passed", "stages": [{"stage": "test", "verdict": "passed"}]}
    attest_subject(subject, [(GATES, statement(subject.reference.name, digest, GATES, gates))], key)
    published = release_publish(world.context(), world.code_host, tools, trust)
    assert published.version == "1.0.1"
    assert world.registry.manifest_digest(REPOSITORY, "1.0.1") == digest

    other = SigningKey(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(UsageError, match=r"not the private key of release\.image\.signing"):
        release_publish(world.context(), world.code_host, tools, Trust(key.public, other))


VOLUME_DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/acme/app:2.0.0
          volumeMounts: [{name: model, mountPath: /model, subPath: opt/mlops-ci/model}]
      volumes:
        - name: model
          image: {reference: registry.example/acme/churn-model:1.0.0.modelpack}
"""


def test_an_image_volume_of_the_modelpack_is_pinned_to_the_artifact_and_tagged_on_publish(
    world: World,
) -> None:
    from mlops_ci.app.attachments import list_referrers, put_attachment, subject_of
    from mlops_ci.core.oci import sha256_digest
    from mlops_ci.image.modelpack import MODELPACK_MANIFEST

    world.vcs.commit("chore: mount the model", {"deploy/app.yaml": VOLUME_DEPLOY.encode()})
    world.vcs.push_head("main")
    digest = validated_candidate_with_image(world)
    tools = world.image_tools()
    subject = subject_of(f"registry.example/{REPOSITORY}@{digest}", tools)
    artifact = json.dumps(
        {"schemaVersion": 2, "mediaType": MEDIA, "artifactType": MODELPACK_MANIFEST,
         "subject": subject.descriptor}
    ).encode()  # fmt: skip
    listed = put_attachment(
        subject, "1.0.1-rc.1.modelpack", artifact, b"{}", blobs=(),
        artifact_type=MODELPACK_MANIFEST,
    )  # fmt: skip
    list_referrers(subject, [listed])

    done = release_pr(world.context(), world.code_host, tools, version=None, environment=None)
    branch = world.vcs.remote.branches["mlops-ci/release/churn"]
    deploy = world.vcs.show(branch, "deploy/app.yaml")
    assert deploy is not None
    pinned = f"registry.example/{REPOSITORY}:1.0.1.modelpack@{sha256_digest(artifact)}"
    assert f"image: {{reference: {pinned}}}".encode() in deploy

    world.vcs.head_commit = branch
    world.vcs.push_head("main")
    world.code_host.merge(done.pull.number, branch)
    release_publish(world.context(), world.code_host, tools)
    assert world.registry.manifest_digest(REPOSITORY, "1.0.1.modelpack") == sha256_digest(artifact)
