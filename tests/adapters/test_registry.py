"""The registry client against a real docker-registry, through a proxy that drops
connections and answers 500 and 429: the blob still arrives whole."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from mlops_ci.adapters.registry import RegistryClient
from mlops_ci.adapters.registry_auth import Credentials, RegistryAuthError, find_credentials
from mlops_ci.adapters.registry_session import Retry
from mlops_ci.errors import ServiceError
from tests.conftest import REGISTRY_USERS
from tests.services import Fault, FaultyProxy, RegistryServer, TokenServer

((USER, PASSWORD),) = REGISTRY_USERS.items()
NO_PAUSE = Retry(attempts=4, first_pause=0, sleep=lambda seconds: None)


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(registry.host)
    yield faulty
    faulty.stop()


def blob(size: int) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def source(data: bytes, piece: int = 1 << 18) -> object:
    def read(start: int) -> Iterator[bytes]:
        for offset in range(start, len(data), piece):
            yield data[offset : offset + piece]

    return read


def fetched(client: RegistryClient, repository: str, digest: str) -> bytes:
    parts: list[bytes] = []
    client.get_blob(repository, digest, parts.append)
    return b"".join(parts)


def test_a_chunked_upload_survives_drops_500s_and_429s(
    proxy: FaultyProxy, registry: RegistryServer
) -> None:
    data, digest = blob(5 << 20)
    proxy.faults = [
        Fault("PATCH", drop_after=(1 << 20) + 12345),  # half-way through the second chunk
        Fault("PATCH", status=500),
        Fault("GET", status=429, retry_after="0", path_part="/uploads/"),
        Fault("PUT", status=502),
        Fault("HEAD", status=503),
    ]
    client = RegistryClient(
        proxy.host, chunk_size=2 << 20, monolithic_limit=1 << 20, retry=NO_PAUSE
    )
    assert not client.blob_exists("faults/chunked", digest)
    client.upload_blob("faults/chunked", digest, len(data), source(data))  # type: ignore[arg-type]
    assert not proxy.faults  # every fault happened
    direct = RegistryClient(registry.host)
    assert direct.blob_exists("faults/chunked", digest)
    assert fetched(direct, "faults/chunked", digest) == data


def test_a_monolithic_upload_starts_again_after_a_drop(proxy: FaultyProxy) -> None:
    data, digest = blob(300_000)
    proxy.faults = [Fault("PUT", drop_after=100_000)]
    client = RegistryClient(proxy.host, retry=NO_PAUSE)
    client.upload_blob("faults/small", digest, len(data), source(data))  # type: ignore[arg-type]
    assert not proxy.faults
    assert fetched(client, "faults/small", digest) == data


def test_retries_are_bounded(proxy: FaultyProxy) -> None:
    proxy.faults = [Fault("GET", status=500) for _ in range(10)]
    client = RegistryClient(proxy.host, retry=NO_PAUSE)
    with pytest.raises(ServiceError, match="HTTP 500 after 4 tries"):
        client.ping()
    assert len(proxy.faults) == 6


def test_a_dead_registry_is_a_service_error() -> None:
    from tests.services import free_port

    client = RegistryClient(f"127.0.0.1:{free_port()}", retry=NO_PAUSE)
    with pytest.raises(ServiceError, match="did not answer"):
        client.ping()


def test_manifests_tags_mounts_and_deletes(registry: RegistryServer) -> None:
    client = RegistryClient(registry.host, retry=NO_PAUSE)
    config, config_digest = blob(100)
    layer, layer_digest = blob(2000)
    for data, digest in ((config, config_digest), (layer, layer_digest)):
        client.upload_blob("lib/one", digest, len(data), source(data))  # type: ignore[arg-type]
    manifest = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":100}},'
        f'"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":2000}}]}}'
    ).encode()
    media_type = "application/vnd.oci.image.manifest.v1+json"
    digest = client.put_manifest("lib/one", "1.0.0-rc.1", manifest, media_type)
    assert digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert client.get_manifest("lib/one", "1.0.0-rc.1") == (manifest, media_type)
    assert client.get_manifest("lib/one", digest)[0] == manifest
    assert client.manifest_digest("lib/one", "1.0.0-rc.1") == digest
    assert client.manifest_digest("lib/one", "nope") is None

    assert client.mount_blob("lib/two", layer_digest, "lib/one")
    assert client.blob_exists("lib/two", layer_digest)
    assert not client.mount_blob("lib/two", "sha256:" + "0" * 64, "lib/one")

    client.put_manifest("lib/one", "1.0.0", manifest, media_type)
    assert sorted(client.tags("lib/one")) == ["1.0.0", "1.0.0-rc.1"]
    assert client.tags("lib/none") == []
    assert client.delete_manifest("lib/one", digest)
    assert client.tags("lib/one") == []


def test_credentials_come_from_the_environment_or_docker_config(tmp_path: object) -> None:
    import base64
    import json
    from pathlib import Path

    folder = Path(str(tmp_path))
    environ = {"MLOPS_CI_REGISTRY_USERNAME": "u", "MLOPS_CI_REGISTRY_PASSWORD": "p4ss"}
    assert find_credentials("ghcr.io", environ) == Credentials("u", "p4ss")
    (folder / "config.json").write_text(
        json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(b"bot:t0ken").decode()}}})
    )
    from_config = find_credentials("ghcr.io", {"DOCKER_CONFIG": str(folder)})
    assert from_config == Credentials("bot", "t0ken")
    assert "t0ken" not in repr(from_config)
    assert find_credentials("quay.io", {"DOCKER_CONFIG": str(folder)}) is None


def test_bearer_tokens_from_the_challenge(
    token_registry: tuple[RegistryServer, TokenServer],
) -> None:
    server, tokens = token_registry
    secrets: list[str] = []
    client = RegistryClient(
        server.host, Credentials(USER, PASSWORD), retry=NO_PAUSE, on_secret=secrets.append
    )
    data, digest = blob(3 << 20)
    client.upload_blob("team/model", digest, len(data), source(data))  # type: ignore[arg-type]
    assert client.blob_exists("team/model", digest)
    assert fetched(client, "team/model", digest) == data
    assert (USER, ["repository:team/model:pull,push"]) in tokens.requests
    assert PASSWORD in secrets  # the password and each token go to the masker
    assert len(secrets) >= 2

    anonymous = RegistryClient(server.host, retry=NO_PAUSE)
    with pytest.raises(RegistryAuthError, match="refused an anonymous request"):
        anonymous.blob_exists("team/model", digest)

    wrong = RegistryClient(server.host, Credentials(USER, "nope"), retry=NO_PAUSE)
    with pytest.raises(RegistryAuthError, match="token service refused") as refused:
        wrong.blob_exists("team/model", digest)
    assert "nope" not in str(refused.value)


def test_the_environments_proxy_settings_hold_for_every_request(
    registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They are read once per host (requests would read them per request): still read."""
    from tests.services import free_port

    nothing_there = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, nothing_there)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "")
    through_proxy = RegistryClient(registry.host, retry=Retry(attempts=1))
    for _ in range(2):  # the second request finds the settings read for the first
        with pytest.raises(ServiceError):
            through_proxy.ping()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1")
    direct = RegistryClient(registry.host, retry=Retry(attempts=1))
    direct.ping()
