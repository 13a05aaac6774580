"""The GitHub adapter against the fake: writes are never repeated blindly, rate limits are
waited out, and the token never shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlops_ci.adapters.github import GitHub, connect
from mlops_ci.adapters.github_session import API_VERSION, GitHubRefused
from mlops_ci.errors import ServiceError, UsageError
from tests.github.fake import API_VERSIONS, TOKEN, FakeGitHub, Fault
from tests.github.test_fake import push_branch


def adapter(fake: FakeGitHub, waits: list[float] | None = None) -> GitHub:
    sleep = waits.append if waits is not None else (lambda seconds: None)
    return GitHub("acme/models", TOKEN, fake.url, write_pause=0, sleep=sleep)


def test_a_lost_answer_to_a_create_never_makes_a_second_pull_request(
    github: FakeGitHub, repository: Path
) -> None:
    push_branch(repository, "mlops-ci/release/m")
    github.faults = [Fault("POST", 502, path_part="/pulls", after=True)]  # made, then lost
    waits: list[float] = []
    made = adapter(github, waits).create_pull("Release m", "body", "mlops-ci/release/m", "main")
    assert made.number == 1
    assert len(github.pulls) == 1
    assert [call for call in github.writes if call[1].endswith("/pulls")] == [
        ("POST", "/repos/acme/models/pulls")
    ]


def test_a_pull_request_that_exists_already_is_taken(github: FakeGitHub, repository: Path) -> None:
    push_branch(repository, "mlops-ci/release/m")
    client = adapter(github)
    first = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    again = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")  # a 422
    assert again.number == first.number
    assert client.open_pull("mlops-ci/release/m", "main") == again


def test_rate_limits_are_waited_out(github: FakeGitHub, repository: Path) -> None:
    push_branch(repository, "mlops-ci/release/m")
    github.faults = [
        Fault("GET", 403, retry_after="7"),
        Fault("POST", 429, retry_after="3", path_part="/pulls"),
    ]
    waits: list[float] = []
    client = adapter(github, waits)
    assert client.open_pull("mlops-ci/release/m", "main") is None
    client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    assert waits == [7.0, 3.0]
    assert len(github.pulls) == 1


def test_labels_reviewers_releases_and_the_commit_of_a_merge(
    github: FakeGitHub, repository: Path
) -> None:
    push_branch(repository, "mlops-ci/release/m")
    client = adapter(github)
    pull = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    client.update_pull(pull.number, "Release m 1.0.0", "new body")
    client.add_labels(pull.number, ["release"])
    client.request_reviewers(pull.number, ["octocat"])
    assert github.pulls[pull.number].labels == ["release"]
    assert github.pulls[pull.number].title == "Release m 1.0.0"
    github.route("PUT", f"/repos/acme/models/pulls/{pull.number}/merge", {}, {})
    merged = github.pulls[pull.number].merge_commit_sha
    assert merged is not None
    assert [p.number for p in client.pulls_of_commit(merged)] == [pull.number]

    github.faults = [Fault("POST", 500, path_part="/releases", after=True)]
    release, made = client.create_release("m@1.0.0", "m 1.0.0", "notes", merged)
    assert (release["tag"], made) == ("m@1.0.0", False)  # made by the lost call, found again
    assert len(github.releases) == 1
    again, made_again = client.create_release("m@1.0.0", "m 1.0.0", "notes", merged)
    assert (again["id"], made_again) == (release["id"], False)


def test_failures_are_clear_and_the_token_stays_hidden(github: FakeGitHub) -> None:
    github.faults = [Fault("GET", 500) for _ in range(10)]
    with pytest.raises(
        ServiceError, match=r"GitHub did not list pull requests \(HTTP 500\)"
    ) as failed:
        adapter(github).open_pull("x", "main")
    assert TOKEN not in str(failed.value)
    github.faults = []
    wrong = GitHub("acme/models", "wrong-token", github.url, write_pause=0, sleep=lambda s: None)
    with pytest.raises(UsageError, match="check GITHUB_TOKEN"):
        wrong.open_pull("x", "main")
    with pytest.raises(GitHubRefused, match="HTTP 422"):
        adapter(github).create_pull("t", "b", "no-such-branch", "main")
    with pytest.raises(UsageError, match="no GitHub token"):
        connect({"GITHUB_REPOSITORY": "acme/models"})
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY"):
        connect({"GITHUB_TOKEN": TOKEN})


def test_writes_are_spaced_as_github_asks(github: FakeGitHub, repository: Path) -> None:
    push_branch(repository, "mlops-ci/release/m")
    waits: list[float] = []
    client = GitHub("acme/models", TOKEN, github.url, write_pause=1.0, sleep=waits.append)
    pull = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    client.add_labels(pull.number, ["release"])
    assert len(waits) == 1
    assert 0.5 < waits[0] <= 1.0  # the second write waited for the rest of the second


def test_issues_since_a_time_with_an_offset_are_asked_for_in_utc(github: FakeGitHub) -> None:
    github.add_issue("slow answers", "since the release", ["feedback"], "2026-11-30T08:30:00Z")
    github.add_issue("old", "before the release", ["feedback"], "2026-11-30T07:59:00Z")
    tagged = datetime(2026, 11, 30, 10, 0, tzinfo=timezone(timedelta(hours=2)))  # 08:00Z
    found = adapter(github).issues("feedback", since=tagged)
    assert [issue.title for issue in found] == ["slow answers"]


def test_every_request_names_the_api_version_it_was_written_for(github: FakeGitHub) -> None:
    github.add_issue("slow", "answers", ["feedback"], "2026-11-30T08:30:00Z")
    client = adapter(github)
    client.issues("feedback")
    client.open_issue("SLO breach", "p95 over", ["feedback"], marker="<!-- m -->")
    assert github.api_versions
    assert set(github.api_versions) == {API_VERSION}
    assert API_VERSION in API_VERSIONS


def test_issues_are_listed_page_by_page_without_a_request_per_issue(
    github: FakeGitHub, repository: Path
) -> None:
    for number in range(130):
        github.add_issue(f"feedback {number}", "body", ["feedback"], "2026-11-30T08:30:00Z")
    push_branch(repository, "mlops-ci/release/m")
    client = adapter(github)
    pull = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    client.add_labels(pull.number, ["feedback"])  # GitHub lists pull requests as issues too
    github.calls.clear()
    found = client.issues("feedback")
    assert sorted(issue.title for issue in found) == sorted(f"feedback {n}" for n in range(130))
    assert pull.number not in {issue.number for issue in found}
    assert found[0].created_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert github.calls == [("GET", "/repos/acme/models/issues")] * 2  # two pages of 100


def test_reviewers_go_as_logins_and_team_slugs(
    github: FakeGitHub, repository: Path, caplog: pytest.LogCaptureFixture
) -> None:
    push_branch(repository, "mlops-ci/release/m")
    client = adapter(github)
    pull = client.create_pull("Release m", "body", "mlops-ci/release/m", "main")
    client.request_reviewers(pull.number, ["@acme/ml-leads", "@octocat", "hubot", "@other/x"])
    assert github.pulls[pull.number].reviewers == ["octocat", "hubot"]
    assert github.pulls[pull.number].team_reviewers == ["ml-leads"]
    assert "the team other/x is not of acme" in caplog.text
    assert github.schema_errors == []
