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
    assert github.schema_errors == [
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels body: (top): ['release'] "
        "is not valid under any of the given schemas"
    ]  # the request is checked against GitHub's description, not only by the route
    github.schema_errors.clear()
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


def test_requests_are_checked_against_githubs_description(github: FakeGitHub) -> None:
    requester = client(github).requester
    base = f"{github.url}/repos/acme/models"
    requester.requestJson("GET", f"{base}/pulls", parameters={"state": "opened", "per_page": 100})
    requester.requestJson("GET", f"{base}/issues", parameters={"sincee": "2026-01-01T00:00:00Z"})
    requester.requestJson("GET", f"{base}/pulls/one")
    requester.requestJson("POST", f"{base}/pulls", input={"title": 7, "head": "x"})
    requester.requestJson("DELETE", f"{base}/pulls/1")
    requester.requestJson("GET", f"{base}/pulls/1", input={"unexpected": True})
    assert sorted(github.schema_errors) == sorted(
        [
            "GET /repos/{owner}/{repo}/pulls: the parameter state='opened': 'opened' is not one "
            "of ['open', 'closed', 'all']",
            "GET /repos/{owner}/{repo}/issues: takes no parameter sincee",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}: the parameter pull_number='one': "
            "'one' is not of type 'integer'",
            "POST /repos/{owner}/{repo}/pulls body: (top): 'base' is a required property",
            "POST /repos/{owner}/{repo}/pulls body: title: 7 is not of type 'string'",
            "DELETE /repos/acme/models/pulls/1 is not in the vendored OpenAPI subset",
            "GET /repos/{owner}/{repo}/pulls/{pull_number}: takes no body, was sent "
            "{'unexpected': True}",
        ]
    )
    github.schema_errors.clear()  # each of them fails a test at the fixture's end


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
