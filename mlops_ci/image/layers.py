"""The model's files in layers: shards of at most ``layer_size`` bytes, each a tar of
its files under the image's model folder, and the files as a built image's state keeps
them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.files.artifacts import ArtifactPath
from mlops_ci.image.deploy_script import MODEL_FOLDER
from mlops_ci.image.oci import Descriptor
from mlops_ci.image.tarstream import Member, TarLayer, members_with_folders


@dataclass(frozen=True)
class ModelLayer:
    """One shard of model files: where each goes in the image and where it is read from."""

    descriptor: Descriptor
    files: tuple[ArtifactPath, ...]

    def members(self) -> list[Member]:
        return members_with_folders(
            [
                Member(f"{MODEL_FOLDER}/{f.path}", f.size, f.executable, source=f.source)
                for f in self.files
            ]
        )

    def tar(self, epoch: int) -> TarLayer:
        return TarLayer(self.members(), epoch)


def shards(files: Sequence[ArtifactPath], layer_size: int) -> list[list[ArtifactPath]]:
    """The files in order, grouped into layers of at most ``layer_size`` bytes (a bigger
    file gets a layer of its own)."""
    groups: list[list[ArtifactPath]] = []
    size = 0
    for file in files:
        if not groups or (size + file.size > layer_size and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(file)
        size += file.size
    return groups


def file_json(file: ArtifactPath) -> dict[str, Any]:
    return {
        "path": file.path,
        "source": str(file.source),
        "size": file.size,
        "executable": file.executable,
        "mtime_ns": file.mtime_ns,
        "inode": file.inode,
        "ctime_ns": file.ctime_ns,
    }


def file_from_json(value: Mapping[str, Any]) -> ArtifactPath:
    return ArtifactPath(
        path=str(value["path"]),
        source=Path(value["source"]),
        size=int(value["size"]),
        executable=bool(value["executable"]),
        mtime_ns=int(value["mtime_ns"]),
        inode=int(value["inode"]),
        ctime_ns=int(value.get("ctime_ns", 0)),  # a state an older mlops-ci wrote has none
    )
