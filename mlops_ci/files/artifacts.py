"""The files of a model's artifacts folder, walked safely: what ships in a candidate and in
its image.

A link that stays inside the folder ships as the file it points to; a link to a folder, a
link that leaves the folder, a device, a pipe or a socket is refused, as is a name that
could not be unpacked where it belongs (absolute, ``..``, a line break). Empty folders ship
as empty folders (a saved model's ``assets/`` may be one). The order is the same on every
machine: sorted by path, component by component.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlops_ci.errors import ExitStatus, MlopsCiError


class ArtifactError(MlopsCiError):
    """An artifacts folder that holds something that must not ship."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class ArtifactPath:
    """One file to ship: ``path`` is where it goes (relative, POSIX), ``source`` where it is."""

    path: str
    source: Path
    size: int
    executable: bool
    mtime_ns: int
    inode: int
    ctime_ns: int = 0  # changes with any write, whatever mtime says

    @property
    def identity(self) -> tuple[int, int, int, int]:
        """What says the file is the same one as when it was hashed: no write changes its
        contents without changing its ctime."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def walk_artifacts(folder: Path) -> list[ArtifactPath]:
    """Every file under ``folder``, in a stable order; refuses what must not ship."""
    if not folder.is_dir():
        return []
    real_folder = folder.resolve()
    found = []
    for root, folders, files in os.walk(folder, followlinks=False):
        for name in [*files, *(f for f in folders if Path(root, f).is_symlink())]:
            path = Path(root, name)
            relative = safe_relative_path(path.relative_to(folder).as_posix(), folder.name)
            if path.is_symlink() and not _link_target(path, relative, folder).is_relative_to(
                real_folder
            ):
                raise ArtifactError(
                    f"{relative} in {folder.name}/ is a link that leaves the artifacts folder; "
                    "copy the file in instead"
                )
            try:
                info = path.stat()
            except OSError as error:  # gone since it was listed, or unreadable
                raise ArtifactError(
                    f"{relative} in {folder.name}/ cannot be read ({error.strerror}); "
                    "let the build finish writing it, or remove it"
                ) from None
            if stat.S_ISDIR(info.st_mode):
                # Shipped as a copy, its files would be twice in the image; as a link, a
                # reader of the volume could follow it anywhere.
                raise ArtifactError(
                    f"{relative} in {folder.name}/ is a link to a folder; move or copy the "
                    "folder in under that name, or link its files one by one"
                )
            if not stat.S_ISREG(info.st_mode):
                raise ArtifactError(
                    f"{relative} in {folder.name}/ is not a regular file (a device, pipe or "
                    "socket); only files ship"
                )
            found.append(
                ArtifactPath(
                    path=relative,
                    source=path,
                    size=info.st_size,
                    executable=bool(info.st_mode & stat.S_IXUSR),
                    mtime_ns=info.st_mtime_ns,
                    inode=info.st_ino,
                    ctime_ns=info.st_ctime_ns,
                )
            )
    return sorted(found, key=lambda file: PurePosixPath(file.path).parts)


def empty_folders(folder: Path) -> list[str]:
    """The folders under ``folder`` that hold nothing, in the same order as the files."""
    if not folder.is_dir():
        return []
    found = []
    for root, folders, files in os.walk(folder, followlinks=False):
        if not folders and not files and Path(root) != folder:
            found.append(safe_relative_path(Path(root).relative_to(folder).as_posix(), folder.name))
    return sorted(found, key=lambda path: PurePosixPath(path).parts)


def _link_target(link: Path, relative: str, folder: Path) -> Path:
    """Where ``link`` leads in the end; refuses a link to nothing and a loop of links."""
    try:
        return link.resolve(strict=True)
    except FileNotFoundError:
        raise ArtifactError(
            f"{relative} in {folder.name}/ is a link to nothing ({os.readlink(link)} does not "
            "exist); remove the link or write the file it names"
        ) from None
    except (RuntimeError, OSError):  # a loop: RuntimeError before Python 3.13, then ELOOP
        raise ArtifactError(
            f"{relative} in {folder.name}/ is a link in a loop of links; remove it"
        ) from None


def safe_relative_path(path: str, where: str) -> str:
    """``path`` if it stays where it is unpacked; else a clear refusal."""
    pure = PurePosixPath(path)
    problem = ""
    if pure.is_absolute() or path.startswith("/"):
        problem = "is an absolute path"
    elif ".." in pure.parts:
        problem = "climbs out with '..'"
    elif any(c in path for c in "\n\r\0\\"):
        problem = "holds a line break, a NUL or a backslash"
    elif not path or path in (".", "./"):
        problem = "is empty"
    else:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid UTF-8"
    if problem:
        raise ArtifactError(f"{path!r} in {where}/ {problem}; rename the file")
    return pure.as_posix()


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    size: int
    sha256: str
    # The file's identity (ArtifactPath.identity) when it did not change while it was
    # hashed, else None: what lets an image build take the sum instead of hashing again.
    identity: tuple[int, int, int, int] | None = None


def artifact_files(folder: Path) -> list[ArtifactFile]:
    """Every file under ``folder``, hashed; links that leave it and special files refused."""
    found = []
    for file in walk_artifacts(folder):
        with file.source.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            after = os.fstat(handle.fileno())
        same = (after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino)
        identity = file.identity if same == file.identity else None
        found.append(ArtifactFile(file.path, file.size, digest, identity))
    return found
