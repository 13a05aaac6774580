"""The Docker engine, through the Docker SDK: loading an image built without it, and the
``docker`` backend for images that need a Dockerfile's steps."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import ServiceError

if TYPE_CHECKING:
    import docker


class DockerEngine:
    """The Engine port: the Docker engine at ``DOCKER_HOST``, through its SDK."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def build(self, context: Iterator[bytes], tag: str, base: str) -> str:
        image_id, _ = build_with_dockerfile(context, tag, base, self._environ)
        return image_id

    def push(self, repository: str, tag: str) -> str:
        from mlops_ci.adapters.registry_auth import find_credentials
        from mlops_ci.core.image_reference import parse_reference

        found = find_credentials(parse_reference(repository).registry, self._environ)
        credentials = (found.username, found.password) if found else None
        return push_with_docker(repository, tag, credentials, self._environ)

    def load(self, archive: Iterable[bytes], name: str, config_digest: str) -> None:
        load_image(archive, name, config_digest, self._environ)


def load_image(
    archive: Iterable[bytes], name: str, config_digest: str, environ: Mapping[str, str]
) -> None:
    """Streams a ``docker load`` tar into the engine (nothing on disk) and checks that the
    image it made is the one whose config is ``config_digest``."""
    client = engine(environ)
    try:
        # Sent chunked: an empty chunk would end the body early.
        chunks = (chunk for chunk in archive if chunk)
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
    if found.id != config_digest:
        raise ServiceError(
            f"the Docker engine loaded {str(found.id)[:19]}, not the image's config "
            f"{config_digest[:19]}"
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


def build_with_dockerfile(
    context: Iterator[bytes], tag: str, base: str, environ: Mapping[str, str]
) -> tuple[str, list[str]]:
    """Builds the streamed context (a tar with a Dockerfile) in the engine as ``tag``;
    the image id and the build's output lines."""
    client = engine(environ)
    output: list[str] = []
    try:
        answers = client.api.build(
            fileobj=io.BufferedReader(_ChunkReader(context), buffer_size=1 << 20),
            custom_context=True,
            tag=tag,
            buildargs={"BASE": base},
            # The network RUN steps get (none, host...); the engine's default otherwise.
            network_mode=environ.get("MLOPS_CI_DOCKER_BUILD_NETWORK") or None,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            if answer.get("stream"):
                output.append(str(answer["stream"]).rstrip("\n"))
            if answer.get("error"):
                tail = "\n".join(line for line in output[-10:] if line.strip())
                raise ServiceError(
                    f"the Docker build of {tag} failed: {str(answer['error'])[:300]}"
                    + (f"\n{tail}" if tail else "")
                )
        image_id = str(client.images.get(tag).id)
    except ServiceError:
        raise
    except Exception as error:
        raise ServiceError(
            f"the Docker engine did not build the image ({_reason(error)})"
        ) from None
    finally:
        client.close()
    return image_id, output


def push_with_docker(
    repository: str, tag: str, credentials: tuple[str, str] | None, environ: Mapping[str, str]
) -> str:
    """Pushes ``repository:tag`` from the engine; the manifest digest the registry took."""
    client = engine(environ)
    auth = {"username": credentials[0], "password": credentials[1]} if credentials else None
    digest = ""
    try:
        answers = client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True)
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            if answer.get("error"):
                raise ServiceError(
                    f"the Docker engine could not push {repository}:{tag}: "
                    f"{str(answer['error'])[:300]}"
                )
            aux = answer.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = str(aux["Digest"])
    except ServiceError:
        raise
    except Exception as error:
        raise ServiceError(f"the Docker engine did not push the image ({_reason(error)})") from None
    finally:
        client.close()
    if not digest:
        raise ServiceError(f"the Docker engine pushed {repository}:{tag} without a digest")
    return digest


class _ChunkReader(io.RawIOBase):
    """A stream of chunks as a file, for the SDK's build context (read, not iterated)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size
