"""The Git adapter's questions about history, on a real repository."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.adapters.git import Git
from tests.conftest import commit, git


def test_is_ancestor_knows_the_history_checked_out(repository: Path) -> None:
    first = commit(repository, "first", touch="a.txt")
    second = commit(repository, "second", touch="a.txt")
    work = Git(repository)
    assert work.is_ancestor(first, second)
    assert work.is_ancestor(second, second)
    assert not work.is_ancestor(second, first)
    git(repository, "reset", "-q", "--hard", first)
    head = work.head()
    assert head == first
    assert not work.is_ancestor(second, head)  # reset away: still an object, not history
    assert not work.is_ancestor("0" * 40, head)  # an object this clone lacks
    # Names from records are outside input: anything but an object name is no commit.
    assert not work.is_ancestor("--help", head)
    assert not work.is_ancestor("HEAD", head)


def test_nearest_on_history_walks_back_from_head_once(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = commit(repository, "first", touch="a.txt")
    second = commit(repository, "second", touch="a.txt")
    third = commit(repository, "third", touch="a.txt")
    started: list[object] = []
    real = subprocess.Popen

    def popen(*arguments: Any, **options: Any) -> Any:
        started.append(arguments[0])
        return real(*arguments, **options)

    monkeypatch.setattr(subprocess, "Popen", popen)
    work = Git(repository)
    assert work.nearest_on_history({first, second}) == second
    assert work.nearest_on_history({first, "0" * 40, "--all"}) == first
    assert work.nearest_on_history({third, first}) == third  # met before: no walk again
    assert work.nearest_on_history({"0" * 40}) is None  # walked to the end
    assert work.nearest_on_history(set()) is None
    assert len(started) == 1  # one git process for every question
    git(repository, "reset", "-q", "--hard", second)
    # The same work tree answers for HEAD as it was at its first question; a new one
    # (each command makes its own) for HEAD as it is.
    assert work.nearest_on_history({third}) == third
    moved = Git(repository)
    assert moved.nearest_on_history({third}) is None  # reset away
    assert moved.nearest_on_history({third, first}) == first


def test_nearest_on_history_in_a_repository_with_no_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert Git(tmp_path).nearest_on_history({"a" * 40}) is None
