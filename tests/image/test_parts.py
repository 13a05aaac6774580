"""The small parts of an image: tar streams, references, artifact walking, gzip."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.core.image_reference import parse_reference, registry_tag
from mlops_ci.errors import UsageError
from mlops_ci.files.artifacts import (
    ArtifactError,
    empty_folders,
    safe_relative_path,
    walk_artifacts,
)
from mlops_ci.image.oci import stored_gzip
from mlops_ci.image.tarstream import (
    Member,
    SourceChangedError,
    TarLayer,
    data_member,
    members_with_folders,
)


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> TarLayer:
    folder = tmp_path_factory.mktemp("files")
    (folder / "big.bin").write_bytes(os.urandom(9 << 20))  # more than two read chunks
    (folder / "small").write_bytes(b"abc")
    return TarLayer(
        members_with_folders(
            [
                Member("m/big.bin", 9 << 20, source=folder / "big.bin"),
                Member("m/x/small", 3, executable=True, source=folder / "small"),
                data_member("deploy.sh", b"#!/bin/sh\n", executable=True),
                Member("m/" + "long-name-" * 20, 3, source=folder / "small"),  # a pax header
            ]
        ),
        mtime=0,
    )


def test_a_layer_streams_the_bytes_it_hashed(layer: TarLayer) -> None:
    whole = b"".join(layer.stream())
    hashes = layer.hash()
    assert len(whole) == layer.size == hashes.size
    assert hashes.digest == "sha256:" + hashlib.sha256(whole).hexdigest()
    assert hashes.files["m/x/small"] == hashlib.sha256(b"abc").hexdigest()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_stream_resumes_at_any_offset(layer: TarLayer, data: st.DataObject) -> None:
    whole = b"".join(layer.stream())
    start = data.draw(st.integers(min_value=0, max_value=len(whole)))
    assert b"".join(layer.stream(start)) == whole[start:]


def test_a_file_that_changed_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    changed = TarLayer([Member("f", 5, source=path)], 0)
    path.write_bytes(b"123")
    with pytest.raises(SourceChangedError, match="changed size"):
        b"".join(changed.stream())
    with pytest.raises(SourceChangedError, match="changed size"):
        changed.hash()
    path.unlink()
    with pytest.raises(SourceChangedError, match="cannot be read"):
        changed.hash()


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", None, None),
        ("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", None),
        ("ghcr.io/acme/churn-model", "ghcr.io", "acme/churn-model", None, None),
        ("localhost:5000/m:1.0.0-rc.1", "localhost:5000", "m", "1.0.0-rc.1", None),
        (
            "127.0.0.1:5000/a/b@sha256:" + "a" * 64,
            "127.0.0.1:5000",
            "a/b",
            None,
            "sha256:" + "a" * 64,
        ),
    ],
)
def test_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_reference(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry, repository, tag, digest,
    )  # fmt: skip
    assert parse_reference(str(reference)) == reference


@pytest.mark.parametrize("text", ["Upper/Case", "a/b:bad tag", "a/b@sha256:short", "ghcr.io/"])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_reference(text)


def test_a_version_as_a_tag() -> None:
    assert registry_tag("1.2.0+build.7") == "1.2.0_build.7"
    assert parse_reference("docker.io/library/busybox").api_host == "registry-1.docker.io"


def test_artifacts_that_must_not_ship(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w")
    (folder / "alias.bin").symlink_to("weights.bin")  # inside: ships as the file
    shipped = walk_artifacts(folder)
    assert [(f.path, f.size) for f in shipped] == [("alias.bin", 1), ("weights.bin", 1)]

    (tmp_path / "secret").write_text("outside")
    (folder / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(ArtifactError, match="leaves the artifacts folder"):
        walk_artifacts(folder)
    (folder / "leak").unlink()

    (folder / "gone").symlink_to("deleted.bin")
    with pytest.raises(ArtifactError, match=r"gone in model/ is a link to nothing \(deleted.bin"):
        walk_artifacts(folder)
    (folder / "gone").unlink()

    (folder / "loop-a").symlink_to("loop-b")
    (folder / "loop-b").symlink_to("loop-a")
    with pytest.raises(ArtifactError, match=r"loop-[ab] in model/ is a link in a loop of links"):
        walk_artifacts(folder)
    (folder / "loop-a").unlink()
    (folder / "loop-b").unlink()

    (folder / "weights").mkdir()
    (folder / "latest").symlink_to("weights")
    with pytest.raises(
        ArtifactError, match=r"latest in model/ is a link to a folder; move or copy"
    ):
        walk_artifacts(folder)
    (folder / "latest").unlink()

    os.mkfifo(folder / "pipe")
    with pytest.raises(ArtifactError, match="not a regular file"):
        walk_artifacts(folder)
    (folder / "pipe").unlink()

    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "sock"))
        with pytest.raises(ArtifactError, match="not a regular file"):
            walk_artifacts(folder)


def test_empty_folders_are_listed_to_ship(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "data.bin").write_bytes(b"w")
    (folder / "assets").mkdir()
    (folder / "logs" / "b").mkdir(parents=True)
    (folder / "logs" / "a").mkdir()
    assert empty_folders(folder) == ["assets", "logs/a", "logs/b"]
    assert [f.path for f in walk_artifacts(folder)] == ["variables/data.bin"]
    assert empty_folders(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("path", "problem"),
    [("/etc/passwd", "absolute"), ("a/../../b", "'..'"), ("a\nb", "line break"), ("", "empty")],
)
def test_unsafe_names(path: str, problem: str) -> None:
    with pytest.raises(ArtifactError, match=problem):
        safe_relative_path(path, "model")


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200_000))
def test_stored_gzip_is_gzip(data: bytes) -> None:
    assert gzip.decompress(stored_gzip(data)) == data
