"""A repository in memory: commits as whole trees, tags, and one remote."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from mlops_ci.core.bump import Commit
from mlops_ci.core.history import Tag
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.ports import Identity, Vcs


class MemoryGitError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class StoredCommit:
    sha: str
    parents: tuple[str, ...]
    tree: Mapping[str, bytes]
    message: str


@dataclass
class MemoryRemote:
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # name -> commit


class MemoryVcs:
    """A work tree at ``root`` whose history lives in this object; ``origin`` is
    ``remote``. ``commit`` (a test's helper) adds a commit on HEAD."""

    def __init__(self, root: Path, remote: MemoryRemote | None = None) -> None:
        self.root = root
        self.remote = remote if remote is not None else MemoryRemote()
        self.objects: dict[str, StoredCommit] = {}
        self.head_commit: str | None = None
        self.local_tags: dict[str, Tag] = {}
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)

    # -- a test's helpers ----------------------------------------------------------------

    def commit(self, message: str, files: Mapping[str, bytes | None]) -> str:
        """A commit on HEAD with ``files`` changed (None removes one); HEAD moves to it."""
        tree = dict(self._tree(self.head_commit)) if self.head_commit else {}
        for path, data in files.items():
            if data is None:
                tree.pop(path, None)
            else:
                tree[path] = data
        parents = (self.head_commit,) if self.head_commit else ()
        self.head_commit = self._store(parents, tree, message)
        return self.head_commit

    def push_head(self, branch: str) -> None:
        assert self.head_commit is not None
        self.remote.branches[branch] = self.head_commit

    # -- the port ------------------------------------------------------------------------

    def authenticated(self, environ: Mapping[str, str]) -> Vcs:
        return self

    def head(self) -> str | None:
        return self.head_commit

    def is_commit(self, revision: str) -> bool:
        return self._resolve(revision) is not None

    def uncommitted(self, folder: str) -> list[str]:
        tree = self._tree(self.head_commit) if self.head_commit else {}
        prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
        changed = []
        for path, data in tree.items():
            if path.startswith(prefix):
                on_disk = self.root / path
                if not on_disk.is_file() or on_disk.read_bytes() != data:
                    changed.append(path)
        return sorted(changed)

    def changed_files(self, since: str) -> list[str]:
        before = self._tree(self._need(since))
        after = self._tree(self.head_commit) if self.head_commit else {}
        return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))

    def tracked_manifests(self) -> list[Path]:
        tree = self._tree(self.head_commit) if self.head_commit else {}
        return sorted(
            (self.root / path).resolve()
            for path in tree
            if PurePosixPath(path).name == "mlops.yaml"
        )

    def tags(self) -> Sequence[Tag]:
        return list(self.local_tags.values())

    def commits(self, since: str | None, paths: Sequence[str] = ()) -> list[Commit]:
        stop = self._resolve(since) if since else None
        found = []
        sha = self.head_commit
        while sha is not None and sha != stop:
            stored = self.objects[sha]
            parent = stored.parents[0] if stored.parents else None
            before = self._tree(parent) if parent else {}
            touched = {
                p for p in before.keys() | stored.tree.keys() if before.get(p) != stored.tree.get(p)
            }
            if not paths or any(_under(p, folder) for p in touched for folder in paths):
                found.append(Commit(sha, stored.message))
            sha = parent
        return found

    def show(self, revision: str, path: str) -> bytes | None:
        sha = self._resolve(revision)
        return None if sha is None else self._tree(sha).get(path)

    def create_tag(self, name: str, commit: str, message: str, identity: Identity) -> None:
        if name in self.local_tags:
            raise MemoryGitError(f"tag {name} exists")
        self.clock = self.clock.replace(second=(self.clock.second + 1) % 60)
        self.local_tags[name] = Tag(name, self._need(commit), self.clock)

    def delete_tag(self, name: str) -> None:
        if self.local_tags.pop(name, None) is None:
            raise MemoryGitError(f"no tag {name}")

    def push_tag(self, remote: str, name: str) -> bool:
        tag = self.local_tags[name]
        if name in self.remote.tags and self.remote.tags[name] != tag.commit:
            return False
        self.remote.tags[name] = tag.commit
        return True

    def delete_remote_tag(self, remote: str, name: str) -> None:
        self.remote.tags.pop(name, None)

    def remote_tag(self, remote: str, tag: str) -> str | None:
        return self.remote.tags.get(tag)

    def fetch(self, remote: str, branch: str) -> str:
        if branch not in self.remote.branches:
            raise MemoryGitError(f"{remote} has no branch {branch}")
        return self.remote.branches[branch]

    def remote_branch(self, remote: str, branch: str) -> str | None:
        return self.remote.branches.get(branch)

    def commit_files(
        self, parent: str, files: Mapping[str, bytes], message: str, identity: Identity
    ) -> str:
        tree = {**self._tree(self._need(parent)), **files}
        return self._store((parent,), tree, message)

    def same_tree(self, first: str, second: str) -> bool:
        return self._tree(first) == self._tree(second)

    def parents(self, commit: str) -> list[str]:
        return list(self.objects[commit].parents)

    def nearest_on_history(self, commits: Collection[str]) -> str | None:
        waiting, seen = [self.head_commit] if self.head_commit else [], set()
        while waiting:  # breadth first from HEAD: the nearest first
            commit = waiting.pop(0)
            if commit in commits:
                return commit
            if commit not in seen:
                seen.add(commit)
                waiting.extend(self.objects[commit].parents)
        return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor not in self.objects or descendant not in self.objects:
            return False
        seen, waiting = set(), [descendant]
        while waiting:
            commit = waiting.pop()
            if commit == ancestor:
                return True
            if commit not in seen:
                seen.add(commit)
                waiting.extend(self.objects[commit].parents)
        return False

    def push_branch(self, remote: str, commit: str, branch: str, *, expected: str | None) -> None:
        if self.remote.branches.get(branch) != expected:
            raise MemoryGitError(f"the push of {branch} was refused (stale lease)")
        self.remote.branches[branch] = commit

    # -- inside ---------------------------------------------------------------------------

    def _store(self, parents: tuple[str, ...], tree: Mapping[str, bytes], message: str) -> str:
        content = repr((parents, sorted(tree.items()), message, len(self.objects)))
        sha = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
        self.objects[sha] = StoredCommit(sha, parents, dict(tree), message)
        return sha

    def _resolve(self, revision: str) -> str | None:
        if revision in self.objects:
            return revision
        if revision in self.local_tags:
            return self.local_tags[revision].commit
        if revision == "HEAD":
            return self.head_commit
        return None

    def _need(self, revision: str) -> str:
        sha = self._resolve(revision)
        if sha is None:
            raise MemoryGitError(f"{revision} is not a commit")
        return sha

    def _tree(self, sha: str | None) -> Mapping[str, bytes]:
        return self.objects[sha].tree if sha is not None else {}


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
