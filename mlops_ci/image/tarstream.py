"""Image layers as tar streams, byte for byte the same on every machine, made straight from
the source files: nothing is copied to disk, and a push can start anywhere in the stream.

Every entry has uid and gid 0, no owner names, one fixed mtime (``SOURCE_DATE_EPOCH``), and
a mode that depends only on what it is (folders and executables 0755, other files 0644):
the umask, the checkout's mtimes and the folder it sits in never reach the bytes. Headers
are POSIX pax, so long names and files over 8 GiB are stored exactly.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import FileIO
from pathlib import Path, PurePosixPath

from mlops_ci.errors import ExitStatus, MlopsCiError

BLOCK = 512
CHUNK = 4 << 20
_END = b"\0" * (2 * BLOCK)


class SourceChangedError(MlopsCiError):
    """A file changed between the build that hashed it and the read that ships it."""

    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class Member:
    """One entry of a layer: a folder, a file read from ``source``, or a file of ``data``."""

    name: str
    size: int = 0
    executable: bool = False
    source: Path | None = None
    data: bytes | None = None

    @property
    def is_folder(self) -> bool:
        return self.source is None and self.data is None


def data_member(name: str, data: bytes, *, executable: bool = False) -> Member:
    """A file of the layer whose bytes are at hand (``deploy.sh``, ``model.json``)."""
    return Member(name, len(data), executable, data=data)


def members_with_folders(files: Sequence[Member]) -> list[Member]:
    """``files`` with an entry for each folder above them, folders first, all sorted."""
    folders = {
        parent.as_posix()
        for file in files
        for parent in PurePosixPath(file.name).parents
        if parent.as_posix() != "."
    }
    everything = [*(Member(name) for name in folders), *files]
    return sorted(everything, key=lambda member: PurePosixPath(member.name).parts)


def header(member: Member, mtime: int) -> bytes:
    info = tarfile.TarInfo(member.name + ("/" if member.is_folder else ""))
    info.type = tarfile.DIRTYPE if member.is_folder else tarfile.REGTYPE
    info.mode = 0o755 if member.is_folder or member.executable else 0o644
    info.size = 0 if member.is_folder else member.size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _padding(size: int) -> int:
    return -size % BLOCK


@dataclass(frozen=True)
class LayerHashes:
    """What one read of a layer's files gives: the layer's digest and size, and each file's
    sha256 by name."""

    digest: str
    size: int
    files: dict[str, str]


class TarLayer:
    """An uncompressed tar layer of ``members``, streamed from their sources."""

    def __init__(self, members: Sequence[Member], mtime: int) -> None:
        self.members = tuple(members)
        self.mtime = mtime
        self._headers = [header(member, mtime) for member in self.members]
        self.size = sum(
            len(head) + (0 if member.is_folder else member.size + _padding(member.size))
            for head, member in zip(self._headers, self.members, strict=True)
        ) + len(_END)

    def hash(self, known: Mapping[str, str] | None = None) -> LayerHashes:
        """Reads every file once: the layer's sha256 and each file's, side by side on two
        threads (hashlib lets go of the GIL), so two digests cost about the time of one.
        A file whose sum is ``known`` (by its name in the layer) is hashed for the layer
        alone: each of its bytes goes through one SHA-256."""
        layer = hashlib.sha256()
        files: dict[str, str] = {}
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        known = known or {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-ci-sha256") as pool:
            for head, member in zip(self._headers, self.members, strict=True):
                layer.update(head)
                if member.is_folder:
                    continue
                given = known.get(member.name) if member.source is not None else None
                file = hashlib.sha256()
                if member.data is not None:
                    file.update(member.data)
                    layer.update(member.data)
                elif member.source is not None:
                    with _opened(member.source) as handle:
                        remaining = member.size
                        while remaining > 0:
                            got = handle.readinto(view[: min(CHUNK, remaining)])
                            if not got:
                                break
                            if given is not None:
                                layer.update(view[:got])
                            else:
                                # Both digests read the same buffer; refilled after both.
                                pending = pool.submit(file.update, view[:got])
                                layer.update(view[:got])
                                pending.result()
                            remaining -= got
                        _check_end(member, handle, remaining)
                layer.update(b"\0" * _padding(member.size))
                files[member.name] = given if given is not None else file.hexdigest()
        layer.update(_END)
        return LayerHashes("sha256:" + layer.hexdigest(), self.size, files)

    def stream(self, start: int = 0) -> Iterator[bytes]:
        """The layer's bytes from offset ``start`` to the end."""
        position = 0
        for head, member in zip(self._headers, self.members, strict=True):
            yield from _tail(head, start - position)
            position += len(head)
            if member.is_folder:
                continue
            if position + member.size > start:
                yield from _content(member, max(0, start - position))
            position += member.size
            padding = b"\0" * _padding(member.size)
            yield from _tail(padding, start - position)
            position += len(padding)
        yield from _tail(_END, start - position)


def _tail(data: bytes, skip: int) -> Iterator[bytes]:
    if skip < len(data):
        yield data[max(0, skip) :]


def _content(member: Member, offset: int) -> Iterator[bytes]:
    if member.data is not None:
        yield member.data[offset:]
        return
    if member.source is None:
        return
    with _opened(member.source) as handle:
        if offset:
            handle.seek(offset)
        remaining = member.size - offset
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
        _check_end(member, handle, remaining)


def _opened(source: Path) -> FileIO:
    try:
        return FileIO(source, "rb")
    except OSError as error:
        raise SourceChangedError(
            f"{source} cannot be read ({error.strerror}); run `mlops-ci image build` again"
        ) from None


def _check_end(member: Member, handle: FileIO, remaining: int) -> None:
    if remaining or handle.read(1):
        raise SourceChangedError(
            f"{member.source} changed size since it was hashed; run `mlops-ci image build` again"
        )
