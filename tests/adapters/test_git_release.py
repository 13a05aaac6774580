"""Release branches made in git's object store, pushed with a lease, against a real bare
repository standing in for GitHub's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops_ci.adapters.git import Git, GitError
from tests.conftest import commit, git

IDENTITY = ("mlops-ci", "mlops-ci@localhost")


@pytest.fixture
def clone(repository: Path, tmp_path: Path) -> Git:
    """A work tree whose origin is a bare repository with a main branch."""
    (repository / "mlops.yaml").write_text("model:\n  version: 1.0.0\n")
    (repository / "run.sh").write_text("#!/bin/sh\n")
    (repository / "run.sh").chmod(0o755)
    commit(repository, "initial")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(origin)], check=True)
    git(repository, "remote", "add", "origin", str(origin))
    return Git(repository)


def test_a_release_commit_on_the_latest_base_leaves_the_work_tree_alone(
    clone: Git, repository: Path
) -> None:
    work = clone
    status_before = git(repository, "status", "--porcelain")
    head_before = work.head()
    base = work.fetch("origin", "main")
    made = work.commit_files(
        base,
        {
            "mlops.yaml": b"model:\n  version: 1.1.0\n",
            "CHANGELOG.md": b"# Changelog\n",
            "run.sh": b"#!/bin/sh\necho\n",
        },
        "Release m 1.1.0",
        IDENTITY,
    )
    assert work.parents(made) == [base]
    assert work.head() == head_before
    assert git(repository, "status", "--porcelain") == status_before
    assert work.show(made, "mlops.yaml") == b"model:\n  version: 1.1.0\n"
    assert git(repository, "ls-tree", made, "run.sh").split()[0] == "100755"  # mode kept
    assert (
        git(repository, "log", "-1", "--format=%an <%ae>", made).strip()
        == "mlops-ci <mlops-ci@localhost>"
    )

    assert work.remote_branch("origin", "mlops-ci/release/m") is None
    work.push_branch("origin", made, "mlops-ci/release/m", expected=None)
    assert work.remote_branch("origin", "mlops-ci/release/m") == made
    again = work.commit_files(
        base,
        {
            "mlops.yaml": b"model:\n  version: 1.1.0\n",
            "CHANGELOG.md": b"# Changelog\n",
            "run.sh": b"#!/bin/sh\necho\n",
        },
        "x",
        IDENTITY,
    )
    assert work.same_tree(again, made)


def test_a_push_that_lost_a_race_is_refused(clone: Git) -> None:
    work = clone
    base = work.fetch("origin", "main")
    first = work.commit_files(base, {"a": b"1"}, "one", IDENTITY)
    second = work.commit_files(base, {"a": b"2"}, "two", IDENTITY)
    work.push_branch("origin", first, "mlops-ci/release/m", expected=None)
    with pytest.raises(GitError, match="was refused"):
        work.push_branch("origin", second, "mlops-ci/release/m", expected=None)
    work.push_branch("origin", second, "mlops-ci/release/m", expected=first)
    assert work.remote_branch("origin", "mlops-ci/release/m") == second


def test_a_token_reaches_git_for_the_github_server_only(repository: Path) -> None:
    import base64

    commit(repository, "initial")
    git(repository, "remote", "add", "origin", "https://github.com/acme/models.git")
    plain = Git(repository)
    token = "ghs_example0123456789"  # noqa: S105 (a made-up token)
    with_token = plain.authenticated({"GITHUB_TOKEN": token})
    header = with_token.run("config", "--get", "http.https://github.com/.extraheader").strip()
    expected = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert header == f"AUTHORIZATION: basic {expected}"
    assert plain.authenticated({}) is plain  # no token: git as it is
    enterprise = plain.authenticated(
        {"GITHUB_TOKEN": token, "GITHUB_SERVER_URL": "https://ghe.example"}
    )
    assert enterprise is plain  # origin is not on that server
    assert plain.run("config", "--get", "http.https://github.com/.extraheader", check=False) == ""


def test_a_tag_another_run_made_at_the_same_commit_is_done_and_at_another_is_refused(
    clone: Git, repository: Path
) -> None:
    first = clone.head()
    assert first is not None
    other = Git(repository)  # a second run in the same clone, which looked before the first wrote
    other.create_tag("m@1.0.0", first, "m 1.0.0", IDENTITY)
    clone.create_tag("m@1.0.0", first, "m 1.0.0", IDENTITY)
    assert git(repository, "rev-parse", "m@1.0.0^{commit}").strip() == first

    (repository / "run.sh").write_text("#!/bin/sh\necho later\n")
    commit(repository, "later")
    later = clone.head()
    assert later is not None
    with pytest.raises(GitError, match="already exists"):
        clone.create_tag("m@1.0.0", later, "m 1.0.0", IDENTITY)
    assert git(repository, "rev-parse", "m@1.0.0^{commit}").strip() == first
