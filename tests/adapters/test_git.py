"""The Git adapter's questions about history, on a real repository."""

from __future__ import annotations

from pathlib import Path

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


def test_nearest_on_history_walks_back_from_head_once(repository: Path) -> None:
    first = commit(repository, "first", touch="a.txt")
    second = commit(repository, "second", touch="a.txt")
    third = commit(repository, "third", touch="a.txt")
    work = Git(repository)
    assert work.nearest_on_history({first, second}) == second
    assert work.nearest_on_history({first, "0" * 40, "--all"}) == first
    assert work.nearest_on_history(set()) is None
    git(repository, "reset", "-q", "--hard", second)
    assert work.nearest_on_history({third}) is None  # reset away
    assert work.nearest_on_history({third, first}) == first
