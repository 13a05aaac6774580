"""Whether a base image has the programs ``deploy.sh`` runs: listed from the base's layers
(whiteouts of later layers applied) before an image is built on it, so a base without
``grep`` fails the build with the names of what is missing, not a deploy with
"grep: not found".

Only names are checked, in the folders a shell's PATH holds; the layers are read from the
blob cache (downloaded once per machine), and the answer is kept per base digest, so a
rebuild on the same base lists nothing.
"""

from __future__ import annotations

import contextlib
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.oci import OCI_LAYER, OCI_LAYER_GZIP

DEPLOY_TOOLS = (
    "sh", "cp", "mv", "ln", "rm", "mkdir", "mktemp", "find", "grep", "sed", "sha256sum",
)  # fmt: skip
_PATH = ("bin", "usr/bin", "sbin", "usr/sbin", "usr/local/bin", "usr/local/sbin")
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_READABLE = {OCI_LAYER: "r|", OCI_LAYER_GZIP: "r|gz"}


class UnlistedLayer(Exception):
    """A layer this check cannot read (zstd, or not a tar): the base is not judged."""


def programs_in_layers(layers: Iterable[tuple[str, Path]]) -> set[str]:
    """The program names in the PATH folders of the file system the layers (media type,
    blob file; base first) make, each later layer's whiteouts removing earlier names."""
    present: dict[str, set[str]] = {folder: set() for folder in _PATH}
    for media_type, blob in layers:
        mode = _READABLE.get(media_type)
        if mode is None:
            raise UnlistedLayer(f"a layer of type {media_type}")
        try:
            with tarfile.open(blob, mode) as archive:  # type: ignore[call-overload]  # a str mode
                for member in archive:
                    _apply(present, member)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise UnlistedLayer(f"a layer that is no tar ({error})") from None
    return {name for names in present.values() for name in names}


def _apply(present: dict[str, set[str]], member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name.lstrip("/").removeprefix("./"))
    folder, name = path.parent.as_posix(), path.name
    if folder not in present:
        return
    if name == _OPAQUE:
        present[folder].clear()
    elif name.startswith(_WHITEOUT):
        present[folder].discard(name.removeprefix(_WHITEOUT))
    elif not member.isdir():
        present[folder].add(name)


def missing_tools(programs: set[str]) -> list[str]:
    return [tool for tool in DEPLOY_TOOLS if tool not in programs]


class ToolAnswers:
    """What was found per base manifest digest, one small JSON file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, digest: str) -> list[str] | None:
        try:
            value = json.loads(self._path(digest).read_text())
        except (OSError, ValueError):
            return None
        missing = value.get("missing") if isinstance(value, dict) else None
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            return None
        return missing

    def put(self, digest: str, missing: list[str]) -> None:
        with contextlib.suppress(OSError):  # a cache: a read-only one only costs a re-listing
            write_atomically(self._path(digest), json.dumps({"missing": missing}).encode())

    def _path(self, digest: str) -> Path:
        return self.folder / (digest.partition(":")[2] + ".json")
