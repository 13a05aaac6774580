"""Files that appear whole or not at all: written beside their target, flushed to disk,
then renamed over it; a failure half-way leaves the old file (or none) and no litter."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path


def write_atomically(target: Path, chunks: bytes | Iterable[bytes]) -> None:
    """Replace ``target`` with ``chunks``. A new file gets the mode any new file gets here
    (0666 under the umask, so a report or a deploy file is readable as the user expects);
    a file replaced keeps its mode (a user's chmod survives)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        kept: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        kept = None
    temporary, handle = _create_beside(target)
    try:
        if kept is not None:
            os.fchmod(handle, kept)
        with os.fdopen(handle, "wb") as file:
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def _create_beside(target: Path) -> tuple[Path, int]:
    """A new, unique, empty file beside ``target``. Not ``mkstemp``: it makes files 0600
    whatever the umask."""
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            return temporary, os.open(temporary, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
