"""The fake answers as GitHub's OpenAPI description says, and as PyGithub expects."""

from __future__ import annotations

from pathlib import Path

import github as pygithub
import pytest

from tests.conftest import commit, git
from tests.github.fake import TOKEN, FakeGitHub, Fault
from tests.github.schema import problems


def client(fake: FakeGitHub) -> pygithub.Github:
    return pygithub.Github(
        auth=pygithub.Auth.Token(TOKEN),
        base_url=fake.url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )


def push_branch(repository: Path, branch: str) -> None:
    git(repository, "checkout", "-q", "-b", branch)
    commit(repository, f"change on {branch}", touch="model.txt")
    git(repository, "push", "-q", "origin", branch)
    git(repository, "checkout", "-q", "main")


def test_a_pull_request_from_open_to_merged(github: FakeGitHub, repository: Path) -> None:
    push_branch(repository, "mlops-ci/release/m")
    repo = client(github).get_repo("acme/models")
    pull = repo.create_pull(
        base="main", head="mlops-ci/release/m", title="Release m 1.0.0", body="b"
    )
    assert pull.number == 1
    found = list(repo.get_pulls(state="open", head="acme:mlops-ci/release/m", base="main"))
    assert [p.number for p in found] == [1]
    pull.edit(body="new body")
    with pytest.raises(pygithub.GithubException) as bare:
        pull.add_to_labels("release")  # PyGithub's bare array, which GitHub no longer describes
    assert bare.value.status == 422
    client(github).requester.requestJsonAndCheck(
        "POST", f"{repo.url}/issues/1/labels", input={"labels": ["release"]}
    )
    assert github.pulls[1].labels == ["release"]
    pull.create_review_request(reviewers=["octocat"])
    assert repo.get_pull(1).body == "new body"
    with pytest.raises(pygithub.GithubException) as duplicate:
        repo.create_pull(base="main", head="mlops-ci/release/m", title="again", body="")
    assert duplicate.value.status == 422

    merged = pull.merge(commit_title="Release m 1.0.0")
    assert merged.merged
    merge_commit = git(repository.parent / "models.git", "rev-parse", "main").strip()
    assert merge_commit == merged.sha
    assert [p.number for p in repo.get_commit(merged.sha).get_pulls()] == [1]
    assert list(repo.get_pulls(state="open", head="acme:mlops-ci/release/m")) == []

    release = repo.create_git_release("m@1.0.0", "m 1.0.0", "notes", target_commitish=merged.sha)
    assert repo.get_release("m@1.0.0").id == release.id
    assert github.schema_errors == []


def test_faults_and_credentials(github: FakeGitHub) -> None:
    github.faults = [Fault("GET", 502)]
    repo = client(github).get_repo("acme/models")
    with pytest.raises(pygithub.GithubException) as failed:
        repo.get_pulls(state="open").totalCount  # noqa: B018
    assert failed.value.status == 502
    wrong = pygithub.Github(auth=pygithub.Auth.Token("nope"), base_url=github.url, retry=None)
    with pytest.raises(pygithub.BadCredentialsException):
        wrong.get_repo("acme/models")


def test_the_checker_catches_a_wrong_answer() -> None:
    assert problems("POST", "/repos/a/b/pulls", 201, {"number": "one"})
    assert problems("GET", "/repos/a/b/nothing", 200, {})
