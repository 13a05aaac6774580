"""scripts/release: preparing a release of mlops-ci, checking its tag, moving the actions'
major tag; on real repositories (a work tree and a bare origin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, commit, git

SCRIPT = PROJECT / "scripts" / "release"
CHANGELOG = """# Changelog

Intro that names the Unreleased section.

## Unreleased

### Added

- A new check.

## 1.0.0 - 2026-12-01

- The first release.
"""


def release(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def project(repository: Path, tmp_path: Path) -> Path:
    """A project released once (v1.0.0, v1 on it) with unreleased changes, pushed to a
    bare origin."""
    (repository / "mlops_ci").mkdir()
    (repository / "mlops_ci" / "__init__.py").write_text('"""x"""\n\n__version__ = "1.0.0"\n')
    (repository / "CHANGELOG.md").write_text(CHANGELOG)
    (repository / "README.md").write_text("```yaml\n    rev: v1.0.0\n```\n")
    (repository / ".pre-commit-hooks.yaml").write_text("#     rev: v1.0.0\n- id: x\n")
    commit(repository, "feat: first")
    git(repository, "tag", "-a", "-m", "1.0.0", "v1.0.0")
    git(repository, "tag", "-a", "-m", "v1", "v1")
    commit(repository, "feat: a new check", touch="checks.txt")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(origin)], check=True)
    git(repository, "remote", "add", "origin", str(origin))
    return repository


def test_prepare_dates_the_changelog_sets_the_version_commits_and_tags(project: Path) -> None:
    done = release(project, "prepare", "1.1.0")
    assert done.returncode == 0, done.stderr
    assert "git push origin HEAD v1.1.0" in done.stdout
    changelog = (project / "CHANGELOG.md").read_text()
    assert "## Unreleased\n\n## 1.1.0 - 20" in changelog
    assert changelog.index("## 1.1.0 - ") < changelog.index("- A new check.")
    assert '__version__ = "1.1.0"' in (project / "mlops_ci" / "__init__.py").read_text()
    assert "rev: v1.1.0" in (project / "README.md").read_text()
    assert "rev: v1.1.0" in (project / ".pre-commit-hooks.yaml").read_text()
    assert git(project, "status", "--porcelain").strip() == ""
    assert git(project, "log", "-1", "--format=%s").strip() == "chore: release 1.1.0"
    tagged = git(project, "rev-parse", "v1.1.0^{commit}").strip()
    assert tagged == git(project, "rev-parse", "HEAD").strip()
    assert git(project, "cat-file", "-t", "v1.1.0").strip() == "tag"  # annotated

    notes = project / "notes.md"
    checked = release(project, "check", "v1.1.0", "--notes", str(notes))
    assert checked.returncode == 0, checked.stderr
    assert notes.read_text() == "### Added\n\n- A new check.\n"


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("1.0.0", "v1.0.0 exists already"),
        ("0.9.0", "is not after the newest release, 1.0.0"),
        ("1.1", "is no version"),
        ("v1.1.0", "is no version"),
    ],
)
def test_prepare_refuses_versions_that_cannot_be_next(
    project: Path, version: str, said: str
) -> None:
    head = git(project, "rev-parse", "HEAD")
    done = release(project, "prepare", version)
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain").strip() == ""


def test_prepare_refuses_a_dirty_tree_and_an_empty_changelog(project: Path) -> None:
    (project / "README.md").write_text("changed\n")
    dirty = release(project, "prepare", "1.1.0")
    assert dirty.returncode == 2
    assert "uncommitted changes" in dirty.stderr
    git(project, "checkout", "--", "README.md")
    (project / "CHANGELOG.md").write_text(CHANGELOG.replace("### Added\n\n- A new check.\n", ""))
    commit(project, "docs: nothing to say")
    empty = release(project, "prepare", "1.1.0")
    assert empty.returncode == 2
    assert "section of" in empty.stderr
    assert "is empty" in empty.stderr
    assert git(project, "tag", "--list", "v1.1.0").strip() == ""


def test_check_refuses_a_tag_the_package_or_changelog_disagrees_with(project: Path) -> None:
    mismatch = release(project, "check", "v1.0.1")
    assert mismatch.returncode == 2
    assert "which says 1.0.0" in mismatch.stderr
    (project / "mlops_ci" / "__init__.py").write_text('__version__ = "1.2.0"\n')
    undated = release(project, "check", "v1.2.0")
    assert undated.returncode == 2
    assert "no '## 1.2.0 - YYYY-MM-DD' section" in undated.stderr
    assert release(project, "check", "1.2.0").returncode == 2  # no v


def test_move_major_moves_v1_forward_only(project: Path) -> None:
    origin = project.parent / "origin.git"
    assert release(project, "prepare", "1.1.0").returncode == 0
    moved = release(project, "move-major", "v1.1.0")
    assert moved.returncode == 0, moved.stderr
    released = git(project, "rev-parse", "v1.1.0^{commit}").strip()
    remote = subprocess.run(
        ["git", "-C", str(origin), "rev-parse", "v1^{commit}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert remote == released
    # A patch of the older line released later never takes v1 back.
    stays = release(project, "move-major", "v1.0.0")
    assert stays.returncode == 0
    assert "v1 stays at v1.1.0" in stays.stdout
    assert git(project, "rev-parse", "v1^{commit}").strip() == released


def test_the_projects_own_changelog_and_version_are_ready_for_prepare() -> None:
    """What the repository holds now: a version, an Unreleased section with content, and
    the pre-commit snippets naming a release tag."""
    text = (PROJECT / "CHANGELOG.md").read_text()
    assert "\n## Unreleased\n" in text
    unreleased = text.split("\n## Unreleased\n", 1)[1].split("\n## ", 1)[0]
    assert "- " in unreleased
    for name in ("README.md", ".pre-commit-hooks.yaml"):
        assert "rev: v" in (PROJECT / name).read_text(), name


def test_the_workflow_gives_git_its_token_through_the_credential_helper(tmp_path: Path) -> None:
    """The release workflow's step that moves v1: git asks its helper for github.com and
    gets the job's token (no URL or log holds it)."""
    import os

    import yaml

    workflow = yaml.safe_load((PROJECT / ".github" / "workflows" / "release.yml").read_text())
    (step,) = [
        s for s in workflow["jobs"]["github-release"]["steps"] if "move-major" in s.get("run", "")
    ]
    environ = {
        **{k: v for k, v in step["env"].items() if k.startswith("GIT_CONFIG_")},
        "GH_TOKEN": "ghs_not-a-real-token",
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
    }
    asked = subprocess.run(
        ["git", "credential", "fill"], input="protocol=https\nhost=github.com\n\n",
        capture_output=True, text=True, check=True, env=environ,
    ).stdout  # fmt: skip
    assert "username=x-access-token\n" in asked
    assert "password=ghs_not-a-real-token\n" in asked
    elsewhere = subprocess.run(
        ["git", "credential", "fill"], input="protocol=https\nhost=example.com\n\n",
        capture_output=True, text=True, check=False,
        env={**environ, "GIT_TERMINAL_PROMPT": "0"},
    )  # fmt: skip
    assert "ghs_not-a-real-token" not in elsewhere.stdout  # only github.com gets it
