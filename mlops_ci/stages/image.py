"""The image of a candidate: built from exactly the files its build recorded, pushed,
promoted by digest, and inspected.

What was validated is what ships: the artifacts folder's files are hashed while their
layers are, and an image whose files differ from the build record's is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.adapters.registry import RegistryClient
from mlops_ci.core.image_reference import Reference, parse_reference, registry_tag
from mlops_ci.core.records import StageRecord
from mlops_ci.core.retention import ImageDeletion, plan_image_deletions
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.files.artifacts import walk_artifacts
from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.base import BlobCache, resolve_base
from mlops_ci.image.build import BuiltImage, DigestCache, build_image
from mlops_ci.image.deploy_script import ShippedFile
from mlops_ci.image.oci import sha256_digest
from mlops_ci.image.publish import Blobs, PushResult, push, write_oci_layout
from mlops_ci.manifest.model import Image
from mlops_ci.stages.candidates import current_candidate, latest_state
from mlops_ci.stages.workspace import STATE_FOLDER, StageInputError, Workspace

PROMOTABLE = ("validated", "released")


@dataclass(frozen=True)
class ImageTools:
    """The outside parts an image command uses, made on demand."""

    registry: Callable[[Reference], RegistryClient]
    cache: BlobCache


def default_tools(environ: Mapping[str, str], on_secret: Callable[[str], None]) -> ImageTools:
    clients: dict[str, RegistryClient] = {}

    def registry(reference: Reference) -> RegistryClient:
        if reference.api_host not in clients:
            clients[reference.api_host] = RegistryClient.for_reference(
                reference, environ, on_secret=on_secret
            )
        return clients[reference.api_host]

    return ImageTools(registry=registry, cache=BlobCache.default(environ))


@dataclass(frozen=True)
class DockerBuilt:
    """An image the Docker engine built (the ``docker`` backend): it lives in the engine
    until pushed; its digest is the registry's."""

    name: str
    version: str
    reference: str
    image_id: str
    files: tuple[ShippedFile, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "mlops-ci/docker-image/v1",
            "name": self.name,
            "version": self.version,
            "reference": self.reference,
            "image_id": self.image_id,
            "files": [f.to_json() for f in self.files],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> DockerBuilt:
        return cls(
            name=str(value["name"]),
            version=str(value["version"]),
            reference=str(value["reference"]),
            image_id=str(value["image_id"]),
            files=tuple(ShippedFile.from_json(f) for f in value["files"]),
        )


def image_settings(workspace: Workspace) -> Image:
    release = workspace.manifest.release
    if release is None or release.image is None:
        raise StageInputError(
            f"{workspace.manifest.path}: the manifest has no release.image; add its "
            "repository (and base) to build an image"
        )
    return release.image


def state_path(workspace: Workspace, version: str) -> Path:
    manifest = workspace.manifest
    return manifest.repository / STATE_FOLDER / "images" / manifest.model.name / f"{version}.json"


def build_candidate_image(
    workspace: Workspace, version: str | None, tools: ImageTools, epoch: int
) -> BuiltImage | DockerBuilt:
    """The image of ``version`` (default: the candidate built at HEAD), its state saved."""
    settings = image_settings(workspace)
    record = current_candidate(workspace, version)
    build = workspace.manifest.build
    if build is None:
        raise StageInputError(f"{workspace.manifest.path}: the manifest has no build section")
    files = walk_artifacts(build.artifacts)
    if settings.uses_docker:
        return _build_with_docker(workspace, record, settings, build.artifacts, epoch)
    base = resolve_base(settings.base, tools.registry, tools.cache)
    cache = DigestCache(workspace.manifest.repository / STATE_FOLDER / "images" / "digests.json")
    image = build_image(
        workspace.manifest.model.name,
        record.version,
        files,
        base,
        layer_size=settings.layer_size,
        epoch=epoch,
        cache=cache,
    )
    _check_against_record(image.files, record, build.artifacts)
    write_atomically(
        state_path(workspace, record.version), json.dumps(image.to_json(), indent=1).encode()
    )
    return image


def _build_with_docker(
    workspace: Workspace, record: StageRecord, settings: Image, artifacts: Path, epoch: int
) -> DockerBuilt:
    from mlops_ci.adapters.docker_engine import build_with_dockerfile
    from mlops_ci.image.docker_context import PLAIN_DOCKERFILE, docker_context

    files = walk_artifacts(artifacts)
    shipped = []
    for file in files:
        with file.source.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        shipped.append(ShippedFile(file.path, file.size, digest))
    _check_against_record(shipped, record, artifacts)
    dockerfile = PLAIN_DOCKERFILE
    if settings.dockerfile is not None:
        try:
            dockerfile = settings.dockerfile.read_bytes()
        except OSError as error:
            raise StageInputError(
                f"release.image.dockerfile {settings.dockerfile} cannot be read ({error.strerror})"
            ) from None
    name = workspace.manifest.model.name
    context = docker_context(
        name, record.version, files, shipped, dockerfile=dockerfile, epoch=epoch
    )
    reference = f"{_docker_repository(settings, name)}:{registry_tag(record.version)}"
    image_id, _ = build_with_dockerfile(
        context.stream(), reference, settings.base, workspace.environ
    )
    built = DockerBuilt(name, record.version, reference, image_id, tuple(shipped))
    write_atomically(
        state_path(workspace, record.version), json.dumps(built.to_json(), indent=1).encode()
    )
    return built


def _docker_repository(settings: Image, name: str) -> str:
    if settings.repository.startswith("oci:"):
        return name
    return parse_reference(settings.repository).name


def load_image(workspace: Workspace, version: str | None) -> BuiltImage | DockerBuilt:
    record = current_candidate(workspace, version)
    path = state_path(workspace, record.version)
    try:
        state = json.loads(path.read_text())
        if state.get("schema") == "mlops-ci/docker-image/v1":
            return DockerBuilt.from_json(state)
        return BuiltImage.from_json(state)
    except FileNotFoundError:
        raise StageInputError(
            f"no image is built for {record.version}; run `mlops-ci image build` first"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise StageInputError(f"{path} is damaged; run `mlops-ci image build` again") from None


def blobs_of(image: BuiltImage, tools: ImageTools) -> Blobs:
    return Blobs(image, tools.cache, lambda: tools.registry(image.base.reference))


def push_image(
    workspace: Workspace, image: BuiltImage | DockerBuilt, tools: ImageTools
) -> PushResult | Path:
    """To the manifest's repository, tagged with the version; an ``oci:`` repository is a
    layout folder."""
    repository = image_settings(workspace).repository
    tag = registry_tag(image.version)
    if isinstance(image, DockerBuilt):
        return _push_with_docker(workspace, image, repository, tag)
    blobs = blobs_of(image, tools)
    if repository.startswith("oci:"):
        folder = workspace.manifest.root / repository.removeprefix("oci:")
        write_oci_layout(image, blobs, folder, tag)
        return folder
    target = parse_reference(repository).with_tag(tag)
    return push(image, blobs, tools.registry(target), target)


def _push_with_docker(
    workspace: Workspace, image: DockerBuilt, repository: str, tag: str
) -> PushResult:
    from mlops_ci.adapters.docker_engine import push_with_docker
    from mlops_ci.adapters.registry import find_credentials

    if repository.startswith("oci:"):
        raise UsageError(
            "the docker backend pushes to a registry; release.image.repository is a folder"
        )
    target = parse_reference(repository)
    found = find_credentials(target.registry, workspace.environ)
    credentials = (found.username, found.password) if found else None
    digest = push_with_docker(target.name, tag, credentials, workspace.environ)
    return PushResult(f"{target.name}:{tag}@{digest}", digest, 0, 0, 0, 0, True, engine=True)


@dataclass(frozen=True)
class Promotion:
    reference: str
    digest: str
    tags: tuple[str, ...]
    written: tuple[str, ...]


def promote_image(
    workspace: Workspace,
    version: str,
    release_version: str,
    environment: str | None,
    tools: ImageTools,
) -> Promotion:
    """Tags the candidate's digest as ``release_version`` (and ``environment``) by putting
    the same manifest bytes: no blob moves, nothing is rebuilt."""
    record = current_candidate(workspace, version)
    state = latest_state(workspace, record)
    if state not in PROMOTABLE:
        raise UsageError(
            f"{record.version} is {state}, not validated; only a validated candidate is promoted"
        )
    repository = image_settings(workspace).repository
    if repository.startswith("oci:"):
        raise UsageError("promote works on a registry; release.image.repository is a folder")
    reference = parse_reference(repository)
    return tag_image(tools, reference, registry_tag(version), release_version, environment)


def tag_image(
    tools: ImageTools,
    reference: Reference,
    source: str,
    release_version: str,
    environment: str | None,
) -> Promotion:
    """The image at ``source`` (a tag or a digest) tagged ``release_version`` (and
    ``environment``) by putting its manifest bytes again; tags already on it are left."""
    registry = tools.registry(reference)
    body, media_type = registry.get_manifest(reference.repository, source)
    image_digest = sha256_digest(body)
    tags = (registry_tag(release_version), *((registry_tag(environment),) if environment else ()))
    written = []
    for tag in tags:
        if registry.manifest_digest(reference.repository, tag) != image_digest:
            registry.put_manifest(reference.repository, tag, body, media_type)
            written.append(tag)
    return Promotion(f"{reference.name}@{image_digest}", image_digest, tags, tuple(written))


def inspect_remote(text: str, tools: ImageTools) -> dict[str, Any]:
    """What an image in a registry holds: its digest, layers, labels and model.json (read
    from its small last layer, never more than a few MiB of it)."""
    reference = parse_reference(text)
    registry = tools.registry(reference)
    body, media_type = registry.get_manifest(reference.repository, reference.target)
    try:
        manifest = json.loads(body)
        layers = list(manifest.get("layers") or [])
        config = json.loads(_small_blob(registry, reference, manifest["config"]["digest"]))
        labels = (config.get("config") or {}).get("Labels") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ServiceError(
            f"{reference} is not an image mlops-ci can read (an index, or another format)"
        ) from None
    model: Any = None
    last: dict[str, Any] = layers[-1] if layers and isinstance(layers[-1], dict) else {}
    small = int(last.get("size", _SMALL)) < _SMALL
    if small and str(last.get("mediaType", "")).endswith("+gzip"):
        model = _model_json(_small_blob(registry, reference, str(last["digest"])))
    return {
        "reference": str(reference),
        "digest": sha256_digest(body),
        "media_type": media_type,
        "layers": layers,
        "labels": labels,
        "model": model,
    }


_SMALL = 1 << 20


def _small_blob(registry: RegistryClient, reference: Reference, digest: str) -> bytes:
    parts: list[bytes] = []
    size = 0

    def keep(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > _SMALL:
            raise ServiceError(f"{reference}: the blob {digest[:19]} is larger than expected")
        parts.append(chunk)

    registry.get_blob(reference.repository, digest, keep)
    data = b"".join(parts)
    if sha256_digest(data) != digest:
        raise ServiceError(f"{reference}: the blob {digest[:19]} arrived with other bytes")
    return data


def _model_json(layer: bytes) -> Any:
    """/model.json of a gzipped tar layer, unpacked in memory up to 16 MiB (a small layer
    that unpacks to more is no deploy layer of ours)."""
    import io
    import tarfile
    import zlib

    try:
        unpacked = zlib.decompressobj(wbits=31).decompress(layer, 16 << 20)
        with tarfile.open(fileobj=io.BytesIO(unpacked)) as archive:
            member = archive.extractfile("model.json")
            return json.loads(member.read(4 << 20)) if member else None
    except (zlib.error, tarfile.TarError, KeyError, ValueError, EOFError):
        return None


def _check_against_record(files: Iterable[ShippedFile], record: StageRecord, folder: Path) -> None:
    recorded = {f["path"]: f["sha256"] for f in record.details.get("files", [])}
    found = {f.path: f.sha256 for f in files}
    if recorded == found:
        return
    changed = sorted(
        path for path in recorded.keys() | found.keys() if recorded.get(path) != found.get(path)
    )
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    raise StageInputError(
        f"{folder.name}/ no longer holds the files {record.version} was built with ({shown}); "
        "run `mlops-ci build` (and its checks) again, or build the image of another version"
    )


@dataclass(frozen=True)
class ImagePruning:
    decisions: tuple[ImageDeletion, ...]
    deleted: tuple[str, ...]
    deletes_refused: bool


def prune_images(
    repository: str, expired_versions: Iterable[str], tools: ImageTools, *, dry_run: bool
) -> ImagePruning:
    """Deletes the registry images of expired candidates (see plan_image_deletions); a
    registry that does not allow deletes is reported, not an error."""
    reference = parse_reference(repository)
    registry = tools.registry(reference)
    tags = registry.tags(reference.repository)
    expired = {registry_tag(version) for version in expired_versions} & set(tags)
    if not expired:
        return ImagePruning((), (), deletes_refused=False)
    digests = {}
    for tag in tags:
        digest = registry.manifest_digest(reference.repository, tag)
        if digest is not None:
            digests[tag] = digest
    plan = plan_image_deletions(sorted(expired), digests)
    deleted: list[str] = []
    refused = False
    for decision in plan:
        if not decision.delete or dry_run:
            continue
        if not registry.delete_manifest(reference.repository, decision.digest):
            refused = True
            break
        deleted.append(decision.tag)
    return ImagePruning(tuple(plan), tuple(deleted), deletes_refused=refused)
