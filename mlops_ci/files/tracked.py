"""The paths git tracks in a work tree, each folder with a file it holds: a folder the tool
empties must hold none of them."""

from __future__ import annotations

import functools
import os
import subprocess


def tracked_paths(repository: str) -> dict[str, str]:
    """Every tracked file and every folder above one, relative to ``repository`` with /,
    each mapped to a tracked file it is or holds. Empty outside a work tree, or where git
    cannot be asked: nothing is then known to be tracked."""
    if not os.path.exists(os.path.join(repository, ".git")):
        return {}
    if os.path.isfile(os.path.join(repository, ".git")):
        return _listing(repository, 0, 0)  # a linked worktree's index is elsewhere
    try:
        index = os.stat(os.path.join(repository, ".git", "index"))
    except OSError:
        return {}  # nothing was ever added
    return _listing(repository, index.st_mtime_ns, index.st_size)


@functools.lru_cache(maxsize=8)
def _listing(repository: str, index_mtime: int, index_size: int) -> dict[str, str]:
    """Asked once per state of the index: a monorepo's thousand manifests share it."""
    try:
        listing = subprocess.run(
            ["git", "-C", repository, "ls-files", "-z", "--cached"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if listing.returncode != 0:
        return {}
    paths: dict[str, str] = {}
    for raw in listing.stdout.split(b"\0"):
        name = os.fsdecode(raw)
        if not name:
            continue
        paths.setdefault(name, name)
        folder = name
        while "/" in folder:
            folder = folder.rsplit("/", 1)[0]
            if folder in paths:
                break  # its parents were met with it
            paths[folder] = name
    return paths
