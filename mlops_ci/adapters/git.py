"""Git, through the git command: tags, commits and the files of past commits.

One ``git for-each-ref`` lists every tag with its commit and date, so a repository with
thousands of tags is read in one process start.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
import weakref
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from mlops_ci.adapters.github_token import github_token, has_github_token
from mlops_ci.core.bump import Commit
from mlops_ci.core.history import Tag
from mlops_ci.errors import ExitStatus, MlopsCiError

_FIELD = "\x1f"
_RECORD = "\x1e"


class GitError(MlopsCiError):
    """git is missing, the folder is not a repository, or a git command failed."""

    exit_status = ExitStatus.BAD_INPUT


def credential_environment(work_tree: Path, environ: Mapping[str, str]) -> dict[str, str] | None:
    """git's environment with the GitHub token (a GitHub App's, else ``GITHUB_TOKEN``: the
    one the API calls use, see github_token.py) given to it for the GitHub server
    (``GITHUB_SERVER_URL``) when ``origin`` is there over HTTPS, else None. The token goes
    through git's environment (``GIT_CONFIG_*``), never its arguments."""
    if not has_github_token(environ):
        return None
    server = (environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    origin = Git(work_tree).run("remote", "get-url", "origin", check=False).strip()
    if not origin.startswith(server + "/"):
        return None
    token = github_token(environ)
    if not token:
        return None
    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {header}",
    }


def as_committer(environ: Mapping[str, str], identity: tuple[str, str]) -> dict[str, str]:
    """git's environment making commits as ``identity`` (name, e-mail), author and
    committer both: no user configuration needed on a runner."""
    name, email = identity
    return {
        **environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


_OBJECT_NAME = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


class Git:
    """The Vcs port: a work tree, read and written with the git command line."""

    def __init__(self, work_tree: Path, environ: Mapping[str, str] | None = None) -> None:
        self.work_tree = work_tree
        # None: git's own environment; else git runs with this one (credentials for pushes).
        self._environ = dict(environ) if environ is not None else None
        self._history: _HistoryWalk | None = None

    def authenticated(self, environ: Mapping[str, str]) -> Git:
        """This work tree, with ``GITHUB_TOKEN`` given to git for the GitHub server (see
        ``credential_environment``): checkouts made with ``persist-credentials: false`` can
        still push the release branch and tags."""
        extra = credential_environment(self.work_tree, environ)
        return self if extra is None else Git(self.work_tree, extra)

    def run(self, *arguments: str, check: bool = True) -> str:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.work_tree), *arguments],
                capture_output=True,
                text=True,
                check=False,
                env=self._environ,
            )
        except FileNotFoundError:
            raise GitError("git is not installed; install it (apt-get install git)") from None
        if check and result.returncode != 0:
            problem = result.stderr.strip().splitlines()
            raise GitError(
                f"git {arguments[0]} failed in {self.work_tree}: "
                f"{problem[-1] if problem else 'exit ' + str(result.returncode)}"
            )
        return result.stdout

    def head(self) -> str | None:
        """The commit checked out, or None in a repository with no commit yet."""
        output = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return output.strip() or None

    def is_commit(self, revision: str) -> bool:
        return self._peeled(revision) is not None

    def changed_files(self, since: str) -> list[str]:
        """The paths that differ between ``since`` and HEAD (renames as a delete and an add)."""
        return self.run("diff", "--name-only", "--no-renames", since, "HEAD").splitlines()

    def uncommitted(self, folder: str) -> list[str]:
        """The tracked files under ``folder`` (relative to the work tree) whose content
        differs from HEAD's, staged or not, deletions included; sorted."""
        output = self.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=no", "--no-renames", "--", folder
        )
        return sorted(entry[3:] for entry in output.split("\0") if len(entry) > 3)

    def tracked_manifests(self) -> list[Path]:
        """Every mlops.yaml git tracks in the work tree, resolved, sorted."""
        listed = self.run("ls-files", "-z", "--", "mlops.yaml", "**/mlops.yaml").split("\0")
        return sorted((self.work_tree / path).resolve() for path in listed if path)

    def tags(self) -> list[Tag]:
        """Every tag, with the commit it points at (annotated tags peeled) and its date."""
        output = self.run(
            "for-each-ref",
            f"--format=%(refname:strip=2){_FIELD}%(objectname){_FIELD}%(*objectname)"
            f"{_FIELD}%(creatordate:iso-strict){_RECORD}",
            "refs/tags",
        )
        tags = []
        for record in output.split(_RECORD):
            fields = record.strip("\n").split(_FIELD)
            if len(fields) != 4:
                continue
            name, target, peeled, created = fields
            tags.append(Tag(name, peeled or target, datetime.fromisoformat(created)))
        return tags

    def commits(self, since: str | None, paths: Sequence[str] = ()) -> list[Commit]:
        """Commits after ``since`` (a tag or commit; None for all) up to HEAD that touched
        ``paths``, newest first."""
        if self.head() is None:
            return []
        span = f"{since}..HEAD" if since else "HEAD"
        output = self.run("log", f"--format=%H{_FIELD}%B{_RECORD}", span, "--", *paths)
        commits = []
        for record in output.split(_RECORD):
            sha, _, message = record.strip("\n").partition(_FIELD)
            if sha:
                commits.append(Commit(sha, message.strip()))
        return commits

    def show(self, revision: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``revision``, or None where it did not exist."""
        try:
            result = subprocess.run(
                ["git", "-C", str(self.work_tree), "show", f"{revision}:{path}"],
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed; install it (apt-get install git)") from None
        return result.stdout if result.returncode == 0 else None

    def create_tag(self, name: str, commit: str, message: str, identity: tuple[str, str]) -> None:
        """An annotated tag ``name`` at ``commit``, made by ``identity`` (name, e-mail).
        Already there at ``commit`` is done: another run in this clone made it between the
        caller's look and this write."""
        user, email = identity
        try:
            self.run(
                "-c", f"user.name={user}", "-c", f"user.email={email}",
                "tag", "-a", "-m", message, name, commit,
            )  # fmt: skip
        except GitError:
            if self._peeled(f"refs/tags/{name}") != self._peeled(commit):
                raise

    def _peeled(self, revision: str) -> str | None:
        output = self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        return output.strip() or None

    def delete_tag(self, name: str) -> None:
        self.run("tag", "--delete", name)

    def push_tag(self, remote: str, name: str) -> bool:
        """Pushes the tag; False when the remote refused it (another run may have pushed it
        first: the caller looks)."""
        try:
            self.run("push", "--quiet", remote, f"refs/tags/{name}")
        except GitError:
            return False
        return True

    def delete_remote_tag(self, remote: str, name: str) -> None:
        self.run("push", remote, f":refs/tags/{name}")

    # -- release branches: commits made without touching the work tree ----------------

    def fetch(self, remote: str, branch: str) -> str:
        """The commit at the tip of ``remote``'s ``branch`` now (fetched)."""
        self.run("fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}")
        return self.run("rev-parse", "FETCH_HEAD^{commit}").strip()

    def remote_branch(self, remote: str, branch: str) -> str | None:
        """The commit ``remote``'s ``branch`` points at, or None when it has none."""
        output = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}")
        for line in output.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    def remote_tag(self, remote: str, tag: str) -> str | None:
        """The commit ``remote``'s tag points at (peeled), or None when it has none."""
        output = self.run(
            "ls-remote", "--tags", remote, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}"
        )
        found: dict[str, str] = {}
        for line in output.splitlines():
            sha, _, ref = line.partition("\t")
            found[ref] = sha
        return found.get(f"refs/tags/{tag}^{{}}") or found.get(f"refs/tags/{tag}")

    def commit_files(
        self, parent: str, files: Mapping[str, bytes], message: str, identity: tuple[str, str]
    ) -> str:
        """A commit on top of ``parent`` with ``files`` (path → bytes) changed, made in the
        object store only: the work tree, the index and HEAD stay as they are."""
        with tempfile.TemporaryDirectory(prefix="mlops-ci-index-") as folder:
            environment = {**os.environ, "GIT_INDEX_FILE": str(Path(folder) / "index")}
            self._run_with(environment, "read-tree", parent)
            for path, data in files.items():
                blob = self._run_with(environment, "hash-object", "-w", "--stdin", data=data)
                mode = self._mode(parent, path)
                self._run_with(
                    environment, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"
                )
            tree = self._run_with(environment, "write-tree")
        committer = as_committer(os.environ, identity)
        return self._run_with(committer, "commit-tree", tree, "-p", parent, "-m", message)

    def same_tree(self, first: str, second: str) -> bool:
        trees = self.run("rev-parse", f"{first}^{{tree}}", f"{second}^{{tree}}").split()
        return len(trees) == 2 and trees[0] == trees[1]

    def parents(self, commit: str) -> list[str]:
        return self.run("rev-list", "--parents", "-n", "1", commit).split()[1:]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or in its history; False for a commit
        this clone does not have (one reset away and collected, or never fetched)."""
        # The names come from records (outside input): object names only, never an option.
        if not (_OBJECT_NAME.fullmatch(ancestor) and _OBJECT_NAME.fullmatch(descendant)):
            return False
        result = subprocess.run(
            ["git", "-C", str(self.work_tree), "merge-base", "--is-ancestor", ancestor, descendant],
            capture_output=True,
            check=False,
            env=self._environ,
        )
        return result.returncode == 0  # 1: not an ancestor; 128: an object this clone lacks

    def nearest_on_history(self, commits: Collection[str]) -> str | None:
        """The first of ``commits`` met walking back from HEAD (newest first), or None.
        One git process however many commits are asked about, and however often: the walk
        stops at the first, and the next question goes on from where it stopped. So it
        answers for HEAD as it was at the first question (a report over a hundred models
        asks a hundred times)."""
        wanted = {c for c in commits if _OBJECT_NAME.fullmatch(c)}
        if not wanted:
            return None
        if self._history is None:
            self._history = _HistoryWalk(self.work_tree, self._environ)
        return self._history.first_of(wanted)

    def push_branch(self, remote: str, commit: str, branch: str, *, expected: str | None) -> None:
        """Points ``remote``'s ``branch`` at ``commit``, replacing what it held only if
        that is still ``expected`` (None: the branch must not exist yet)."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        result = subprocess.run(
            ["git", "-C", str(self.work_tree), "push", "--quiet", lease, remote,
             f"{commit}:refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
            env=self._environ,
        )  # fmt: skip
        if result.returncode != 0:
            problem = result.stderr.strip().splitlines()
            detail = problem[-1] if problem else f"exit {result.returncode}"
            raise GitError(
                f"git push of {branch} to {remote} was refused ({detail}); if the branch is "
                "protected, allow mlops-ci to force-push its release branches or remove the "
                "protection from mlops-ci/release/*"
            )

    def _mode(self, commit: str, path: str) -> str:
        listed = self.run("ls-tree", commit, "--", path).split()
        return listed[0] if listed and listed[1] == "blob" else "100644"

    def _run_with(
        self, environment: Mapping[str, str], *arguments: str, data: bytes | None = None
    ) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.work_tree), *arguments],
            input=data,
            capture_output=True,
            env=dict(environment),
            check=False,
        )
        if result.returncode != 0:
            problem = result.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(
                f"git {arguments[0]} failed in {self.work_tree}: "
                f"{problem[-1] if problem else 'exit ' + str(result.returncode)}"
            )
        return result.stdout.decode().strip()


class _HistoryWalk:
    """``git rev-list HEAD``, read only as far as a question needs: the commits met so far
    keep their place back from HEAD."""

    def __init__(self, work_tree: Path, environ: Mapping[str, str] | None) -> None:
        self._met: dict[str, int] = {}
        self._walk: subprocess.Popen[str] | None = subprocess.Popen(
            ["git", "-C", str(work_tree), "rev-list", "HEAD"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # no commit yet: nothing on the history
            text=True,
            env=environ,
        )
        weakref.finalize(self, _stop, self._walk)

    def first_of(self, wanted: set[str]) -> str | None:
        met = [commit for commit in wanted if commit in self._met]
        if met:  # every commit nearer HEAD than the walk's end has been met
            return min(met, key=self._met.__getitem__)
        while self._walk is not None:
            line = self._walk.stdout.readline() if self._walk.stdout else ""
            if not line:
                _stop(self._walk)
                self._walk = None
                break
            commit = line.strip()
            self._met[commit] = len(self._met)
            if commit in wanted:
                return commit
        return None


def _stop(walk: subprocess.Popen[str]) -> None:
    """Ends a walk that was not read to its end (git would wait on a full pipe)."""
    if walk.poll() is None:
        walk.kill()
    walk.wait()
    if walk.stdout is not None:
        walk.stdout.close()
