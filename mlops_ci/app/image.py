"""``image build|push``: the image of a candidate, built from exactly the files its build
recorded, and pushed.

What was validated is what ships: the artifacts folder's files are hashed while their
layers are, and an image whose files differ from the build record's is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops_ci.app.artifact_sums import known_sums
from mlops_ci.app.candidates import current_candidate
from mlops_ci.app.context import Context, StageInputError
from mlops_ci.app.model_card import candidate_card
from mlops_ci.core.image_reference import Reference, parse_reference, registry_tag
from mlops_ci.core.record_details import recorded_files
from mlops_ci.core.records import IMAGE_STAGE, StageRecord
from mlops_ci.errors import ServiceError, UsageError
from mlops_ci.files.artifacts import empty_folders, walk_artifacts
from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.base import BaseImage, BlobCache, resolve_base
from mlops_ci.image.base_tools import (
    ToolAnswers,
    UnlistedLayer,
    missing_tools,
    programs_in_layers,
)
from mlops_ci.image.build import BuiltImage, build_image
from mlops_ci.image.deploy_script import ShippedFile
from mlops_ci.image.digest_cache import DigestCache
from mlops_ci.image.publish import Blobs, PushResult, docker_archive, push, write_oci_layout
from mlops_ci.manifest.model import Image
from mlops_ci.ports import Engine, Registries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageTools:
    """The outside parts an image command uses, made on demand: a registry's client, the
    cache of base-image blobs, the Docker engine."""

    registry: Registries
    cache: BlobCache
    engine: Callable[[], Engine]


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


def image_settings(context: Context) -> Image:
    release = context.manifest.release
    if release is None or release.image is None:
        raise StageInputError(
            f"{context.manifest.path}: the manifest has no release.image; add its "
            "repository (and base) to build an image"
        )
    return release.image


def _base_image(context: Context, settings: Image, tools: ImageTools) -> BaseImage:
    """The base image, or what to do when its registry cannot be reached."""
    try:
        return resolve_base(settings.base, tools.registry, tools.cache)
    except ServiceError as error:
        raise ServiceError(
            f"the base image {settings.base} (release.image.base in {context.manifest.path}) "
            f"could not be read: {error}. Check this machine reaches that registry, or set "
            "release.image.base to an image in one it does: a mirror (copy it there with "
            "`skopeo copy docker://SOURCE docker://MIRROR`), pinned by digest so the build "
            "stays reproducible"
        ) from None


def _check_base_tools(
    context: Context, settings: Image, base: BaseImage, tools: ImageTools
) -> None:
    """Refuses a base without the programs deploy.sh runs, naming them."""
    answers = ToolAnswers(tools.cache.folder.parent / "base-tools")
    missing = answers.get(base.manifest_digest)
    if missing is None:
        client = tools.registry(base.reference)

        def download(digest: str) -> Callable[[Callable[[bytes], None]], None]:
            return lambda sink: client.get_blob(base.reference.repository, digest, sink)

        layers = [
            (layer.media_type, tools.cache.fetch(layer.digest, download(layer.digest)))
            for layer in base.layers
        ]
        try:
            missing = missing_tools(programs_in_layers(layers))
        except UnlistedLayer as error:
            log.warning(
                "the base image %s has %s: whether it has what deploy.sh needs is not checked",
                settings.base,
                error,
            )
            return
        answers.put(base.manifest_digest, missing)
    if missing:
        raise StageInputError(
            f"the base image {settings.base} (release.image.base in {context.manifest.path}) "
            f"has no {', '.join(missing)} in /bin or /usr/bin, which the image's deploy.sh "
            "runs; pick a base that has them (busybox, or any Debian or Alpine image)"
        )


def state_path(context: Context, version: str) -> Path:
    return context.layout.image(context.manifest.model.name, version)


def build_candidate_image(
    context: Context, version: str | None, tools: ImageTools, epoch: int
) -> BuiltImage | DockerBuilt:
    """The image of ``version`` (default: the candidate built at HEAD), its state saved."""
    settings = image_settings(context)
    record = current_candidate(context, version)
    build = context.manifest.build
    if build is None:
        raise StageInputError(f"{context.manifest.path}: the manifest has no build section")
    files = walk_artifacts(build.artifacts)
    if settings.uses_docker:
        return _build_with_docker(
            context,
            record=record,
            settings=settings,
            artifacts=build.artifacts,
            epoch=epoch,
            tools=tools,
        )
    base = _base_image(context, settings, tools)
    _check_base_tools(context, settings, base, tools)
    cache = DigestCache(context.layout.image_digests)
    image = build_image(
        context.manifest.model.name,
        record.version,
        files,
        base,
        layer_size=settings.layer_size,
        epoch=epoch,
        cache=cache,
        folders=empty_folders(build.artifacts),
        card=candidate_card(context, record.version),
        known=known_sums(context, record.version, files),
    )
    _check_against_record(image.files, record, build.artifacts)
    write_atomically(
        state_path(context, record.version), json.dumps(image.to_json(), indent=1).encode()
    )
    return image


def _build_with_docker(
    context: Context,
    *,
    record: StageRecord,
    settings: Image,
    artifacts: Path,
    epoch: int,
    tools: ImageTools,
) -> DockerBuilt:
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
    name = context.manifest.model.name
    build_context = docker_context(
        name,
        record.version,
        files,
        shipped,
        dockerfile=dockerfile,
        epoch=epoch,
        folders=empty_folders(artifacts),
        card=candidate_card(context, record.version),
    )
    reference = f"{_docker_repository(settings, name)}:{registry_tag(record.version)}"
    image_id = tools.engine().build(build_context.stream(), reference, settings.base)
    built = DockerBuilt(name, record.version, reference, image_id, tuple(shipped))
    write_atomically(
        state_path(context, record.version), json.dumps(built.to_json(), indent=1).encode()
    )
    return built


def _docker_repository(settings: Image, name: str) -> str:
    if settings.repository.startswith("oci:"):
        return name
    return parse_reference(settings.repository).name


def load_image(context: Context, version: str | None) -> BuiltImage | DockerBuilt:
    record = current_candidate(context, version)
    path = state_path(context, record.version)
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


def load_into_engine(image: BuiltImage, tools: ImageTools) -> None:
    """Streams the image into the Docker engine as a ``docker load`` tar (nothing on disk)."""
    name = f"{image.name}:{registry_tag(image.version)}"
    archive = docker_archive(image, blobs_of(image, tools), name)
    tools.engine().load(archive, name, image.config_descriptor.digest)


def write_image(kind: str, target: Path, image: BuiltImage, tools: ImageTools) -> None:
    """The image as an OCI layout folder (``oci``) or a ``docker load`` tar."""
    tag = registry_tag(image.version)
    if kind == "oci":
        write_oci_layout(image, blobs_of(image, tools), target, tag)
    else:
        write_atomically(
            target, docker_archive(image, blobs_of(image, tools), f"{image.name}:{tag}")
        )


def push_image(
    context: Context, image: BuiltImage | DockerBuilt, tools: ImageTools
) -> PushResult | Path:
    """To the manifest's repository, tagged with the version; an ``oci:`` repository is a
    layout folder."""
    repository = image_settings(context).repository
    tag = registry_tag(image.version)
    if isinstance(image, DockerBuilt):
        return _push_with_docker(context, image, repository, tag, tools)
    blobs = blobs_of(image, tools)
    if repository.startswith("oci:"):
        folder = context.manifest.root / repository.removeprefix("oci:")
        write_oci_layout(image, blobs, folder, tag)
        return folder
    target = parse_reference(repository).with_tag(tag)
    started = context.clock.now()
    total = sum(d.size for d in blobs.descriptors())
    meter = context.meters.start(f"push {image.version} to {target.name}", total, "bytes")
    try:
        pushed = push(
            image,
            blobs,
            tools.registry(target),
            target,
            meter,
            mount_from=_pushed_before(context, target),
        )
    finally:
        meter.finish()
    if image_settings(context).modelpack:
        from mlops_ci.app.modelpack import push_modelpack

        modelpack = push_modelpack(context, image, tools.registry(target), target)
        pushed = replace(pushed, modelpack=modelpack.reference)
    _record_push(context, image.version, pushed, started)
    return pushed


_MOST_MOUNT_SOURCES = 3  # each one that lacks a blob costs two requests per blob


def _pushed_before(context: Context, target: Reference) -> list[str]:
    """The other repositories of ``target``'s registry this model was pushed to, newest
    first: their layers can be mounted rather than uploaded again."""
    sources: list[str] = []
    pushes = [r for r in context.records() if r.stage == IMAGE_STAGE]
    for record in sorted(pushes, key=lambda r: r.finished_at, reverse=True):
        try:
            pushed = parse_reference(str(record.details.get("reference", "")))
        except UsageError:
            continue  # a record from elsewhere: nothing to mount from
        if pushed.api_host == target.api_host and pushed.repository not in (
            target.repository,
            *sources,
        ):
            sources.append(pushed.repository)
    return sources[:_MOST_MOUNT_SOURCES]


def _record_push(context: Context, version: str, pushed: PushResult, started: datetime) -> None:
    """The image's digest in the records, so that every clone knows what was pushed; the
    candidate's state is left as its newest record has it."""
    mine = [r for r in context.records() if r.version == version]
    newest = max(mine, key=lambda r: r.finished_at)
    context.store.write(
        StageRecord(
            model=context.manifest.model.name,
            version=version,
            stage=IMAGE_STAGE,
            verdict="passed",
            state=newest.state,
            started_at=started,
            finished_at=context.clock.now(),
            git_sha=newest.git_sha,
            details={
                "reference": pushed.reference,
                **({"modelpack": pushed.modelpack} if pushed.modelpack else {}),
            },
            image_digest=pushed.digest,
        )
    )


def _push_with_docker(
    context: Context, image: DockerBuilt, repository: str, tag: str, tools: ImageTools
) -> PushResult:
    if repository.startswith("oci:"):
        raise UsageError(
            "the docker backend pushes to a registry; release.image.repository is a folder"
        )
    target = parse_reference(repository)
    started = context.clock.now()
    digest = tools.engine().push(target.name, tag)
    pushed = PushResult(f"{target.name}:{tag}@{digest}", digest, 0, 0, 0, 0, True, engine=True)
    _record_push(context, image.version, pushed, started)
    return pushed


def _check_against_record(files: Iterable[ShippedFile], record: StageRecord, folder: Path) -> None:
    recorded = recorded_files(record)
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
