"""The Docker engine, through the Docker SDK: loading an image built without it, and the
``docker`` backend for images that need a Dockerfile's steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mlops_ci.errors import ServiceError

if TYPE_CHECKING:
    import docker

    from mlops_ci.image.build import BuiltImage
    from mlops_ci.image.publish import Blobs


def load_image(image: BuiltImage, blobs: Blobs, environ: Mapping[str, str]) -> None:
    """Streams the image into the engine as a ``docker load`` tar (nothing on disk)."""
    from mlops_ci.image.publish import docker_archive
    from mlops_ci.image.reference import registry_tag

    client = engine(environ)
    try:
        name = f"{image.name}:{registry_tag(image.version)}"
        # Sent chunked: an empty chunk would end the body early.
        chunks = (chunk for chunk in docker_archive(image, blobs, name) if chunk)
        answers = client.api.load_image(chunks)  # type: ignore[no-untyped-call]
        # The engine answers with a stream of JSON lines; an error is one of them.
        for answer in answers or ():
            if isinstance(answer, dict) and answer.get("error"):
                raise ServiceError(f"the Docker engine refused the image: {answer['error'][:300]}")
        found = client.images.get(name)
    except ServiceError:
        raise
    except Exception as error:  # the SDK raises requests' and its own errors alike
        raise ServiceError(f"the Docker engine did not load the image ({_reason(error)})") from None
    finally:
        client.close()
    if found.id != image.config_descriptor.digest:
        raise ServiceError(
            f"the Docker engine loaded {str(found.id)[:19]}, not the image's config "
            f"{image.config_descriptor.digest[:19]}"
        )


def engine(environ: Mapping[str, str]) -> docker.DockerClient:
    import docker

    try:
        client = docker.DockerClient(
            base_url=environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
            version="auto",
            timeout=600,
        )
    except Exception as error:
        raise ServiceError(
            f"no Docker engine answers at {environ.get('DOCKER_HOST', '/var/run/docker.sock')} "
            f"({_reason(error)}); start one or set DOCKER_HOST"
        ) from None
    return client


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:300]
