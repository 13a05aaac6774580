"""Image references: ``registry/repository[:tag][@sha256:...]``, as Docker reads them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_ci.errors import UsageError

DOCKER_HUB = "docker.io"
_DOCKER_HUB_API = "registry-1.docker.io"
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return _DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """Registry and repository, no tag: where the image lives."""
        return f"{self.registry}/{self.repository}"

    @property
    def target(self) -> str:
        """What to fetch: the digest when there is one, else the tag (``latest`` if none)."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, check_tag(tag), None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """``text`` as a reference; a name with no registry is on Docker Hub (``library/`` for
    official images), as Docker reads it."""
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise UsageError(f"{text!r}: the digest must be sha256: and 64 hex digits")
    first, slash, _ = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest[len(first) + 1 :]
    else:
        registry, path = DOCKER_HUB, rest
    repository, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
    if not colon:
        repository, tag = path, ""
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY.match(repository):
        raise UsageError(
            f"{text!r} is not an image reference; write REGISTRY/REPOSITORY[:TAG], "
            "in lower case (e.g. ghcr.io/acme/churn-model:1.2.0)"
        )
    return Reference(registry, repository, check_tag(tag) if tag else None, digest or None)


def check_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise UsageError(
            f"{tag!r} cannot be an image tag (letters, digits, '_', '.', '-'; at most 128)"
        )
    return tag


def registry_tag(version: str) -> str:
    """A version as a tag: semver's ``+build`` has no place in a tag; Docker writes ``_``."""
    return check_tag(version.replace("+", "_"))


MODELPACK_SUFFIX = ".modelpack"  # the tag of an image's ModelPack artifact: <tag>.modelpack


def modelpack_tag(image_tag: str) -> str:
    """The tag of the image's ModelPack artifact: ``1.4.0`` is ``1.4.0.modelpack``."""
    return check_tag(image_tag + MODELPACK_SUFFIX)


def names_modelpack(value: str) -> bool:
    """Whether a reference names a ModelPack artifact (by its tag) rather than the image."""
    try:
        return (parse_reference(value).tag or "").endswith(MODELPACK_SUFFIX)
    except UsageError:
        return False


def in_repository(value: object, repository: str) -> bool:
    """Whether ``value`` names an image of ``repository`` (any tag or digest); text that is
    no image reference names none."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return parse_reference(value).name == parse_reference(repository).name
    except UsageError:
        return False
