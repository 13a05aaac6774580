"""Paths a manifest writes, held inside the repository: relative, with /, and not out
through ``..`` or a symbolic link."""

from __future__ import annotations

import os
import re
import stat

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
        target = os.path.normpath(os.path.join(self.root, value))
        if not _inside(target, self.repository):
            return (
                f"{quote(value)} leaves the repository; keep every path inside the "
                "repository that holds the manifest"
            )
        if self._through_a_link(target) and not _inside(
            os.path.realpath(target), os.path.realpath(self.repository)
        ):
            return f"{quote(value)} is a link that leads out of the repository; point it inside"
        return None

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


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
