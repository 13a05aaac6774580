"""`--pr-comment`: one comment per model on the pull request, updated in place."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ENVIRON, CliRunner, commit
from tests.github.fake import TOKEN, FakeGitHub
from tests.github.test_fake import push_branch


def test_one_sticky_comment_per_model(
    example_copy: Path, github: FakeGitHub, cli: CliRunner, tmp_path: Path
) -> None:
    repository = example_copy
    push_branch(repository, "feature")
    github.route(
        "POST", "/repos/acme/models/pulls", {}, {"title": "t", "head": "feature", "base": "main"}
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 1}}))
    environ = {
        **ENVIRON,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_PATH": str(event),
        "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
    }
    manifest = str(repository / "mlops.yaml")
    arguments = ("run", "-f", manifest, "--no-tracking", "--until", "build", "--pr-comment")
    first = cli(*arguments, environ=environ)
    assert first.status == 0, first.err
    assert "commented:" in first.err
    (comment,) = github.comments.values()
    assert comment["issue"] == 1
    assert "churn-classifier" in comment["body"]
    assert "<!-- mlops-ci:check model=churn-classifier -->" in comment["body"]

    commit(repository, "fix: another try", touch="notes.txt")
    second = cli(*arguments, environ=environ)
    assert second.status == 0, second.err
    assert len(github.comments) == 1  # updated in place, never a second one
    assert [c for c in github.writes if c[0] == "POST" and "comments" in c[1]] == [
        ("POST", "/repos/acme/models/issues/1/comments")
    ]

    before = len(github.calls)
    push = {**environ, "GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}
    assert cli(*arguments, environ=push).status == 0  # not a pull request: no comment
    assert len(github.calls) == before
