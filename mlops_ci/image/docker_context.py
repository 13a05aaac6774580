"""The build context of the ``docker`` backend: a Dockerfile (the manifest's, or the plain
one below), the model files under ``model/`` and the small layer's files under
``deploy/``, as one tar stream for the engine; nothing is copied to disk."""

from __future__ import annotations

from collections.abc import Sequence

from mlops_ci.files.artifacts import ArtifactPath
from mlops_ci.image.deploy_script import ShippedFile, deploy_files
from mlops_ci.image.tarstream import Member, TarLayer, data_member, members_with_folders

PLAIN_DOCKERFILE = b"""\
ARG BASE
FROM ${BASE}
COPY model/ /opt/mlops-ci/model/
COPY deploy/ /
CMD ["/bin/sh", "/deploy.sh", "/model"]
"""


def docker_context(
    name: str,
    version: str,
    files: Sequence[ArtifactPath],
    shipped: Sequence[ShippedFile],
    *,
    dockerfile: bytes,
    epoch: int,
    folders: Sequence[str] = (),
    card: bytes = b"",
) -> TarLayer:
    members = [
        data_member("Dockerfile", dockerfile),
        *(Member(f"model/{f.path}", f.size, f.executable, source=f.source) for f in files),
        *(Member(f"model/{folder}") for folder in folders),
        *(
            data_member(f"deploy/{file_name}", data, executable=executable)
            for file_name, data, executable in deploy_files(name, version, shipped, folders, card)
        ),
    ]
    return TarLayer(members_with_folders(members), epoch)
