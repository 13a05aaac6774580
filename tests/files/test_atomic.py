"""Whole files or none, with the modes a user expects."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_ci.files.atomic import write_atomically


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "out" / "report.html"
    write_atomically(target, b"<html></html>")
    assert target.read_bytes() == b"<html></html>"
    assert _mode(target) == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "deploy.sh"
    target.write_text("old")
    target.chmod(0o750)
    write_atomically(target, [b"new ", b"text"])
    assert target.read_text() == "new text"
    assert _mode(target) == 0o750


def test_a_failure_half_way_leaves_the_old_file_and_no_litter(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    target.write_text("old")

    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, chunks())
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.json"]
