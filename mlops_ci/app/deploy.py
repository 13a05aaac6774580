"""``deploy init``: a deploy file for the model, in a pattern release pull requests pin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_ci.deploy.scaffold import Pattern, Scaffold, Strategy
from mlops_ci.deploy.targets import target
from mlops_ci.errors import UsageError
from mlops_ci.files.atomic import write_atomically
from mlops_ci.manifest.model import Manifest


@dataclass(frozen=True)
class DeployFile:
    kind: str
    strategy: Strategy
    app: str
    app_image: str
    replicas: int
    port: int
    namespace: str | None
    pattern: Pattern = "init-container"


def init_deploy_file(
    manifest: Manifest, wanted: DeployFile, output: str | None, *, force: bool
) -> Path:
    """Writes the file (``output``, else the target's default path) and returns where."""
    image = manifest.release.image if manifest.release else None
    if image is None or image.repository.startswith("oci:"):
        raise UsageError(
            f"{manifest.path}: deploy files need release.image.repository in a registry "
            "(the cluster pulls the model image from there)"
        )
    kind = target(wanted.kind)
    files = Scaffold(
        app=wanted.app,
        app_image=wanted.app_image,
        model_image=f"{image.repository}:{manifest.model.version}",
        replicas=wanted.replicas,
        port=wanted.port,
        namespace=wanted.namespace,
    )
    text = kind.scaffold(files, wanted.strategy, wanted.pattern)
    written = manifest.root / (output or kind.default_path(wanted.app))
    if written.exists() and not force:
        raise UsageError(f"{written} exists; pass --force to overwrite it")
    write_atomically(written, text.encode())
    return written
