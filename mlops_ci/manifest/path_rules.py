"""Paths a manifest writes, held inside the repository: relative, with /, and not out
through ``..`` or a symbolic link; and the paths the tool empties or writes, kept off git's
own folder, the manifest and the files git tracks."""

from __future__ import annotations

import functools
import os
import re
import stat

from mlops_ci.files.tracked import tracked_paths
from mlops_ci.manifest.positions import quote


class PathRules:
    """Whether paths written relative to ``root`` stay inside ``repository``.

    String operations rather than pathlib, and a file-system look only at the parts below
    the repository, each looked at once: a monorepo's thousand manifests are checked in
    one go.
    """

    def __init__(self, root: str, repository: str) -> None:
        self.root = root
        self.repository = repository
        self._links: dict[str, bool | None] = {}

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not a path inside the repository, or None."""
        if value.startswith("/") or _WINDOWS_ABSOLUTE.match(value):
            return (
                f"is the absolute path {quote(value)}; write it relative to the manifest's folder"
            )
        if "\\" in value:
            return f"{quote(value)} uses backslashes; write paths with /"
        joined = os.path.join(self.root, value)
        if not _inside(os.path.normpath(joined), self.repository):
            return (
                f"{quote(value)} leaves the repository; keep every path inside the "
                "repository that holds the manifest"
            )
        if self._through_a_link(joined) and not _inside(
            os.path.realpath(joined), self._real_repository
        ):
            return f"{quote(value)} is a link that leads out of the repository; point it inside"
        return None

    def emptied_folder_problem(self, value: str) -> str | None:
        """Why the tool must not empty the folder ``value`` names, or None: git's own
        folder, the manifest's folder or one above it, or a folder of tracked files."""
        real = self._real(os.path.join(self.root, value))
        if _in_git_folder(value, real, self._real_repository):
            return f"{quote(value)} is git's own folder or inside it"
        if _inside(self._real(self.root), real):
            return f"{quote(value)} holds the manifest's folder"
        if not os.path.isdir(real):
            return None  # nothing there to lose
        tracked = tracked_paths(self._real_repository).get(
            os.path.relpath(real, self._real_repository).replace(os.sep, "/")
        )
        if tracked is not None:
            return f"{quote(value)} holds files git tracks, such as {quote(tracked)}"
        return None

    def written_file_problem(self, value: str, manifest: str) -> str | None:
        """Why the tool must not write or delete the file ``value`` names, or None."""
        real = self._real(os.path.join(self.root, value))
        if _in_git_folder(value, real, self._real_repository):
            return f"{quote(value)} is inside git's own folder"
        if real == self._real(os.path.abspath(manifest)):
            return f"{quote(value)} is the manifest itself"
        return None

    @functools.cached_property
    def _real_repository(self) -> str:
        return os.path.realpath(self.repository)

    def _real(self, path: str) -> str:
        """``path`` with its links resolved: looked up part by part only below a link (the
        parts' looks are shared with ``problem``), else the repository's own real path."""
        if not _inside(os.path.normpath(path), self.repository) or self._through_a_link(path):
            return os.path.realpath(path)
        below = os.path.relpath(os.path.normpath(path), self.repository)
        return os.path.normpath(os.path.join(self._real_repository, below))

    def _through_a_link(self, target: str) -> bool:
        """Whether any existing part of ``target`` below the repository is a symbolic link."""
        current = self.repository
        for part in target[len(self.repository) :].strip(os.sep).split(os.sep):
            current = os.path.join(current, part)
            link = self._is_link(current)
            if link is None:
                return False  # what does not exist cannot lead anywhere
            if link:
                return True
        return False

    def _is_link(self, path: str) -> bool | None:
        """True for a link, False for anything else, None when nothing is there."""
        if path not in self._links:
            try:
                self._links[path] = stat.S_ISLNK(os.lstat(path).st_mode)
            except OSError:
                self._links[path] = None
        return self._links[path]


_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


def _in_git_folder(value: str, real: str, repository: str) -> bool:
    """Whether ``value`` names a ``.git`` (any case, as case-blind file systems read it)
    or resolves into the repository's own."""
    written = any(part.lower() == ".git" for part in value.split("/"))
    return written or _inside(real, os.path.join(repository, ".git"))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
