"""The artifacts' sums and identities: a file that changes while it is hashed has no
identity to vouch for its sum."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.files import artifacts
from mlops_ci.files.artifacts import artifact_files, walk_artifacts


def test_a_file_left_alone_keeps_its_identity_with_its_sum(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"w" * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "vocab.txt").write_text("a\nb\n")
    [sub, weights] = artifact_files(tmp_path)
    assert weights.sha256 == hashlib.sha256(b"w" * 1000).hexdigest()
    walked = {f.path: f for f in walk_artifacts(tmp_path)}
    assert weights.identity == walked["weights.bin"].identity
    assert sub.identity == walked["sub/vocab.txt"].identity
    info = (tmp_path / "weights.bin").stat()
    assert walked["weights.bin"].identity == (
        info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino
    )  # fmt: skip


def test_a_file_written_while_it_is_hashed_has_no_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"w" * 1000)
    real = hashlib.file_digest

    def hashing_while_written(handle: Any, name: str) -> Any:
        digest = real(handle, name)
        time.sleep(0.01)  # a coarse clock must tick
        with path.open("r+b") as other:
            other.write(b"x")
        return digest

    monkeypatch.setattr(artifacts.hashlib, "file_digest", hashing_while_written)
    [found] = artifact_files(tmp_path)
    assert found.identity is None  # its sum is of bytes no longer there: never taken
