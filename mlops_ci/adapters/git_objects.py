"""Git's object store and refs through its plumbing: blobs, trees and commits made and read
without a work tree, an index or HEAD being touched, and refs moved only if they still
hold what the caller last saw (compare and swap).

Blobs are read through one ``git cat-file --batch`` process kept open for the object's
life, so reading ten thousand records costs one process start, not ten thousand.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlops_ci.adapters.git import GitError, as_committer

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True)
class Pushed:
    ok: bool
    # The remote holds commits this one lacks: fetch, merge and try again.
    behind: bool = False
    problem: str = ""


class GitObjects:
    """One repository's objects and refs."""

    def __init__(self, repository: Path, environ: Mapping[str, str] | None = None) -> None:
        self.repository = repository
        # None: git's own environment; else git runs with this one (credentials for pushes).
        self._environ = dict(environ) if environ is not None else None
        self._reader: subprocess.Popen[bytes] | None = None
        # The entries of trees (and of commits' root trees) seen so far, by id: ids name
        # content, so what is known of one never goes stale.
        self._trees: dict[str, dict[str, tuple[str, str, str]]] = {}

    # -- refs ------------------------------------------------------------------------

    def resolve(self, ref: str) -> str | None:
        """The commit ``ref`` points at, or None when there is no such ref. Asked of the
        long-lived reader, which reads the ref afresh each time (another process may have
        moved it), at a fraction of a new process's cost."""
        if "\n" in ref or not ref.startswith("refs/"):
            raise GitError(f"{ref!r} is not a ref")
        stdin, stdout = _pipes(self._batch_reader())
        try:
            stdin.write(f"{ref}^{{commit}}\n".encode())
            stdin.flush()
        except BrokenPipeError:
            return None  # git would not read this folder (not a repository): no ref in it
        header = stdout.readline().decode().split()
        if len(header) != 3:
            return None  # "<ref> missing": no such ref
        stdout.read(int(header[2]) + 1)  # the commit itself, and its newline
        return header[0]

    def move_ref(self, ref: str, new: str, expected: str | None, message: str) -> bool:
        """Points ``ref`` at ``new`` if it still points at ``expected`` (None: if it does not
        exist); False when another writer moved it first."""
        old = expected or "0" * 40
        result = self._git("update-ref", "-m", message, ref, new, old, check=False)
        return result.returncode == 0

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        result = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return result.returncode == 0

    # -- reading ---------------------------------------------------------------------

    def blobs_under(self, commit: str, folder: str | None = None) -> dict[str, str]:
        """Every file below ``folder`` (all when None) in ``commit``'s tree: path → blob.
        The folders' entries are kept, so a tree written on top of it asks git for none."""
        arguments = ["ls-tree", "-r", "-t", "-z", "--full-tree", commit]
        if folder is not None:
            arguments += ["--", folder.rstrip("/") + "/"]
        listed: dict[str, str] = {}
        folders: dict[str, dict[str, tuple[str, str, str]]] = {"": {}}
        ids = {"": commit}
        for entry in self._git(*arguments).stdout.decode().split("\0"):
            info, _, path = entry.partition("\t")
            parts = info.split()
            if len(parts) != 3:
                continue
            parent, _, name = path.rpartition("/")
            folders.setdefault(parent, {})[name] = (parts[0], parts[1], parts[2])
            if parts[1] == "blob":
                listed[path] = parts[2]
            elif parts[1] == "tree":
                ids[path] = parts[2]
                folders.setdefault(path, {})
        if folder is None:  # a whole listing: every folder's entries are complete
            for path, entries in folders.items():
                self._trees[ids[path]] = entries
        return listed

    def read_blobs(self, blobs: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each blob, by its id; one process serves every call."""
        wanted = list(dict.fromkeys(blobs))
        if not wanted:
            return {}
        reader = self._batch_reader()
        stdin, stdout = _pipes(reader)
        # Written in one go and read back in order: the pipe buffers are not a limit, since
        # git answers each line as it reads it and this reads each answer in turn.
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), 256):
            chunk = wanted[start : start + 256]
            try:
                stdin.write("".join(f"{blob}\n" for blob in chunk).encode())
                stdin.flush()
            except BrokenPipeError:
                raise GitError(f"git cat-file stopped reading {self.repository}") from None
            for blob in chunk:
                header = stdout.readline().decode().split()
                if len(header) != 3:
                    raise GitError(f"git cat-file: {blob} is not in {self.repository}")
                data = stdout.read(int(header[2]))
                stdout.read(1)  # the newline after each object
                found[blob] = data
        return found

    def changed_blobs(self, ours: str, theirs: str) -> list[tuple[str, str | None, str | None]]:
        """The files that differ between two commits: (path, our blob, their blob), None
        where one side has no such file."""
        output = self._git("diff-tree", "-r", "-z", "--no-renames", ours, theirs).stdout.decode()
        fields = output.split("\0")
        changes: list[tuple[str, str | None, str | None]] = []
        for index in range(0, len(fields) - 1, 2):
            info, path = fields[index], fields[index + 1]
            parts = info.lstrip(":").split()
            if len(parts) != 5:
                continue
            old, new = parts[2], parts[3]
            changes.append(
                (path, None if set(old) == {"0"} else old, None if set(new) == {"0"} else new)
            )
        return changes

    # -- writing ---------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self._git("hash-object", "-w", "--stdin", data=data).stdout.decode().strip()

    def tree_with(self, base: str | None, changes: Mapping[str, str | None]) -> str:
        """The tree of commit ``base`` (empty when None) with ``changes`` made: path → blob
        id to add or replace a file, path → None to remove the file or folder there. Only
        the folders on a changed path are rewritten (``git mktree``); the rest is shared."""
        nested = {tuple(path.split("/")): blob for path, blob in changes.items()}
        return self._tree_with(base, nested)

    def _tree_with(self, tree: str | None, changes: Mapping[tuple[str, ...], str | None]) -> str:
        entries = self._entries(tree) if tree is not None else {}
        below: dict[str, dict[tuple[str, ...], str | None]] = {}
        for parts, blob in changes.items():
            if len(parts) > 1:
                below.setdefault(parts[0], {})[parts[1:]] = blob
            elif blob is None:
                entries.pop(parts[0], None)
            else:
                entries[parts[0]] = ("100644", "blob", blob)
        for name, inner in below.items():
            _, kind, current = entries.get(name, ("", "", ""))
            made = self._tree_with(current if kind == "tree" else None, inner)
            if made == _EMPTY_TREE:
                entries.pop(name, None)  # git keeps no empty folders
            else:
                entries[name] = ("040000", "tree", made)
        listing = "".join(
            f"{mode} {kind} {oid}\t{name}\0" for name, (mode, kind, oid) in entries.items()
        )
        made = self._git("mktree", "-z", data=listing.encode()).stdout.decode().strip()
        self._trees[made] = entries
        return made

    def _entries(self, tree: str) -> dict[str, tuple[str, str, str]]:
        """The entries of one tree (or a commit's): name → (mode, type, id)."""
        if tree in self._trees:
            return dict(self._trees[tree])
        entries = {}
        for entry in self._git("ls-tree", "-z", tree).stdout.decode().split("\0"):
            info, _, name = entry.partition("\t")
            parts = info.split()
            if len(parts) == 3:
                entries[name] = (parts[0], parts[1], parts[2])
        self._trees[tree] = entries
        return dict(entries)

    def write_commit(
        self, tree: str, parents: Sequence[str], message: str, identity: tuple[str, str]
    ) -> str:
        environment = as_committer(self._environ or os.environ, identity)
        arguments = ["commit-tree", tree, "-m", message]
        for parent in parents:
            arguments += ["-p", parent]
        commit = self._git(*arguments, environ=environment).stdout.decode().strip()
        if tree in self._trees:
            self._trees[commit] = self._trees[tree]  # its root, known without asking
        return commit

    # -- remotes ---------------------------------------------------------------------

    def has_remote(self, remote: str) -> bool:
        return self._git("remote", "get-url", remote, check=False).returncode == 0

    def fetch_refs(self, remote: str, pattern: str, into: str) -> None:
        """Fetches ``remote``'s refs matching ``pattern`` (``refs/x/*``) into ``into``
        (``refs/y/*``), replacing what was fetched before; none matching is no error."""
        self._git(
            "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+{pattern}:{into}"
        )

    def push_ref(self, remote: str, commit: str, ref: str) -> Pushed:
        """Moves ``remote``'s ``ref`` to ``commit`` if that is a fast-forward."""
        result = self._git("push", "--porcelain", remote, f"{commit}:{ref}", check=False)
        if result.returncode == 0:
            return Pushed(ok=True)
        report = result.stdout.decode(errors="replace")
        for line in report.splitlines():
            flag, _, rest = line.partition("\t")
            if flag != "!":
                continue
            summary = rest.split("\t")[-1]
            # A fast-forward refused, or the remote's ref moved while it took this push
            # (another push held its lock): both mean fetch, merge and try again.
            raced = "[remote rejected]" in summary and any(
                word in summary
                for word in ("lock", "failed to update ref", "incorrect old value", "stale info")
            )
            return Pushed(ok=False, behind="[rejected]" in summary or raced, problem=summary)
        lines = (result.stderr.decode(errors="replace").strip() or report.strip()).splitlines()
        # git's own reason is its fatal: line; what follows it is advice.
        fatal = [line for line in lines if line.startswith(("fatal:", "remote: error", "error:"))]
        problem = fatal[0] if fatal else (lines[-1] if lines else f"exit {result.returncode}")
        return Pushed(ok=False, problem=problem)

    # -- plumbing --------------------------------------------------------------------

    def close(self) -> None:
        if self._reader is not None:
            _close(self._reader)
            self._reader = None

    def _batch_reader(self) -> subprocess.Popen[bytes]:
        if self._reader is None or self._reader.poll() is not None:
            try:
                self._reader = subprocess.Popen(
                    ["git", "-C", str(self.repository), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=self._environ,
                )
            except FileNotFoundError:
                raise GitError("git is not installed; install it (apt-get install git)") from None
            weakref.finalize(self, _close, self._reader)
        return self._reader

    def _git(
        self,
        *arguments: str,
        data: bytes | None = None,
        environ: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.repository), *arguments],
                input=data,
                capture_output=True,
                check=False,
                env=dict(environ) if environ is not None else self._environ,
            )
        except FileNotFoundError:
            raise GitError("git is not installed; install it (apt-get install git)") from None
        if check and result.returncode != 0:
            problem = result.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(
                f"git {arguments[0]} failed in {self.repository}: "
                f"{problem[-1] if problem else 'exit ' + str(result.returncode)}"
            )
        return result


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if process.stdin is None or process.stdout is None:  # pragma: no cover - made with PIPE
        raise GitError("git cat-file started without its pipes")
    return process.stdin, process.stdout


def _close(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):  # git had stopped already
            process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - git answers a closed stdin
        process.kill()
    if process.stdout is not None:
        process.stdout.close()
