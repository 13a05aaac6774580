"""Listing a base image's programs: layers in order, whiteouts applied, unreadable layers
said, answers kept per base digest."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mlops_ci.image.base_tools import (
    DEPLOY_TOOLS,
    ToolAnswers,
    UnlistedLayer,
    missing_tools,
    programs_in_layers,
)
from mlops_ci.image.oci import OCI_LAYER, OCI_LAYER_GZIP


def layer(path: Path, *names: str, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:
        for name in names:
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
            archive.addfile(info, io.BytesIO(b""))
    return path


def test_later_layers_add_and_white_out_programs(tmp_path: Path) -> None:
    first = layer(
        tmp_path / "1", "bin/", "bin/sh", "./bin/grep", "/usr/bin/sed", "usr/bin/find",
        "etc/grep", "bin/sub/cp",
    )  # fmt: skip
    second = layer(tmp_path / "2", "bin/.wh.grep", "usr/local/bin/cp", mode="w")
    third = layer(tmp_path / "3", "usr/bin/.wh..wh..opq", "usr/bin/mktemp")
    layers = [(OCI_LAYER_GZIP, first), (OCI_LAYER, second), (OCI_LAYER_GZIP, third)]
    assert programs_in_layers(layers) == {"sh", "cp", "mktemp"}
    assert programs_in_layers(layers[:1]) == {"sh", "grep", "sed", "find"}
    missing = missing_tools(programs_in_layers(layers))
    assert missing == [t for t in DEPLOY_TOOLS if t not in {"sh", "cp", "mktemp"}]
    assert "grep" in missing
    assert missing_tools(set(DEPLOY_TOOLS)) == []


def test_a_layer_it_cannot_list_is_said(tmp_path: Path) -> None:
    zstd = layer(tmp_path / "z", "bin/sh")
    with pytest.raises(UnlistedLayer, match=r"tar\+zstd"):
        programs_in_layers([("application/vnd.oci.image.layer.v1.tar+zstd", zstd)])
    garbage = tmp_path / "g"
    garbage.write_bytes(b"\x1f\x8b not really gzip" * 40)
    with pytest.raises(UnlistedLayer, match="no tar"):
        programs_in_layers([(OCI_LAYER_GZIP, garbage)])


def test_answers_are_kept_per_digest(tmp_path: Path) -> None:
    answers = ToolAnswers(tmp_path / "answers")
    digest = "sha256:" + "a" * 64
    assert answers.get(digest) is None
    answers.put(digest, ["grep"])
    assert answers.get(digest) == ["grep"]
    assert ToolAnswers(tmp_path / "answers").get("sha256:" + "b" * 64) is None
    (tmp_path / "answers" / ("a" * 64 + ".json")).write_text('{"missing": [1]}')
    assert answers.get(digest) is None  # a damaged answer is listed again
