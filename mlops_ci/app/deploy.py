"""``deploy init``: a deploy file for the model, in a pattern release pull requests pin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.core.image_reference import modelpack_tag, registry_tag
from mlops_ci.deploy.policy import kyverno_policy
from mlops_ci.deploy.scaffold import Pattern, Scaffold, Strategy
from mlops_ci.deploy.targets import target
from mlops_ci.errors import UsageError
from mlops_ci.files.atomic import write_atomically
from mlops_ci.manifest.model import Manifest, Signing


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


@dataclass(frozen=True)
class Written:
    deploy: Path
    policy: Path | None  # the admission policy, when the manifest signs its images


def init_deploy_file(
    manifest: Manifest, wanted: DeployFile, output: str | None, *, force: bool
) -> Written:
    """Writes the file (``output``, else the target's default path) and, for Kubernetes
    when release.image.signing is set, the admission policy beside it; returns where."""
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
        volume_image=f"{image.repository}:{modelpack_tag(registry_tag(manifest.model.version))}"
        if image.modelpack and not image.uses_docker
        else None,
        replicas=wanted.replicas,
        port=wanted.port,
        namespace=wanted.namespace,
    )
    text = kind.scaffold(files, wanted.strategy, wanted.pattern)
    written = manifest.root / (output or _default_path(manifest, wanted))
    policy = None
    if image.signing is not None and wanted.kind == "kubernetes":
        policy_text = kyverno_policy(wanted.app, image.repository, _public_key(image.signing))
        policy = written.with_name(f"{wanted.app}-admission.yaml")
    for path in (written, policy):
        if path is not None and path.exists() and not force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    write_atomically(written, text.encode())
    if policy is not None:
        write_atomically(policy, policy_text.encode())
    return Written(written, policy)


_PUBLIC_KEY = re.compile(
    r"-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?"
)


def _public_key(signing: Signing) -> str:
    """The PEM of release.image.signing.public_key, for the policy to carry."""
    path = signing.public_key
    try:
        text = path.read_bytes()[: 16 << 10].decode("ascii", "replace").replace("\r\n", "\n")
    except OSError as error:
        raise UsageError(
            f"{path} (release.image.signing.public_key) cannot be read ({error.strerror}); "
            "commit the signing key's public half there (cosign.pub)"
        ) from None
    found = _PUBLIC_KEY.search(text)
    if found is None:
        raise UsageError(
            f"{path} (release.image.signing.public_key) holds no PEM public key; "
            "give the signing key's .pub (openssl ec -in KEY -pubout)"
        )
    return found.group(0)


def _default_path(manifest: Manifest, wanted: DeployFile) -> Path:
    """Beside the files of this kind the manifest deploys already (the example's
    deploy/k8s/), else where the target keeps them (deploy/kubernetes/)."""
    default = Path(target(wanted.kind).default_path(wanted.app))
    for environment in manifest.release.environments if manifest.release else ():
        for existing in environment.targets:
            if existing.kind == wanted.kind:
                return existing.path.parent / default.name
    return default


def where_to_add(manifest: Manifest, written: Path, kind: str, strategy: Strategy) -> str:
    """What to change in the manifest for a release to pin ``written``: nothing when an
    environment deploys it already; else a target for the environments there are, or
    an environment when there are none."""
    relative = (
        written.relative_to(manifest.root) if written.is_relative_to(manifest.root) else written
    )
    environments = manifest.release.environments if manifest.release else ()
    for environment in environments:
        if any(t.path.resolve() == written.resolve() for t in environment.targets):
            return (
                f"the environment {environment.name!r} in {manifest.path.name} deploys it "
                "already: the next release pull request pins it\n"
            )
    if environments:
        names = ", ".join(e.name for e in environments)
        first = environments[0]
        there = ", ".join(
            f"{{{t.kind}: {t.path.relative_to(manifest.root).as_posix()}}}"
            if t.path.is_relative_to(manifest.root)
            else f"{{{t.kind}: {t.path}}}"
            for t in first.targets
        )
        return (
            f"add it to the targets of the environments that run it ({names}) in "
            f"{manifest.path.name}, e.g.:\n"
            f"      - name: {first.name}\n"
            f"        targets: [{there + ', ' if there else ''}{{{kind}: {relative.as_posix()}}}]\n"
        )
    return (
        f"add it to an environment in {manifest.path.name}:\n"
        f"  release:\n    environments:\n      - name: production\n"
        f"        strategy: {strategy}\n"
        f"        targets: [{{{kind}: {relative.as_posix()}}}]\n"
    )
