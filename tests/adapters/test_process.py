"""Commands run for real: exit codes, timeouts, logs, peak memory, placeholders."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from mlops_ci.adapters.process import CommandError, render, run_command
from mlops_ci.core.commands import Command


def python(code: str, timeout: float = 60) -> Command:
    return Command((sys.executable, "-c", code), timedelta(seconds=timeout))


def test_exit_code_output_and_environment(tmp_path: Path) -> None:
    result = run_command(
        "build.command",
        python("import os, sys; print('hello', os.environ['MLOPS_CI_STAGE']); sys.exit(3)"),
        placeholders={},
        cwd=tmp_path,
        environ={**os.environ, "MLOPS_CI_STAGE": "build"},
        log=tmp_path / "logs" / "build.log",
    )
    assert result.exit_code == 3
    assert not result.timed_out
    assert result.output_tail == "hello build"


def test_peak_memory_is_measured(tmp_path: Path) -> None:
    small = run_command(
        "x",
        python("pass"),
        placeholders={},
        cwd=tmp_path,
        environ=os.environ,
        log=tmp_path / "a.log",
    )
    big = run_command(
        "x",
        python("b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"),
        placeholders={},
        cwd=tmp_path,
        environ=os.environ,
        log=tmp_path / "b.log",
    )
    assert big.peak_rss_bytes > small.peak_rss_bytes + 150 * 1024 * 1024


def test_a_command_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    result = run_command(
        "x",
        python("import time; time.sleep(60)", timeout=0.5),
        placeholders={},
        cwd=tmp_path,
        environ=os.environ,
        log=tmp_path / "slow.log",
    )
    assert result.timed_out
    assert result.seconds < 30


def test_placeholders_and_a_missing_program(tmp_path: Path) -> None:
    command = Command(("train", "--out", "{artifacts}", "{{literal}}"), timedelta(minutes=1))
    assert render(command, {"artifacts": "build/model"}) == (
        "train",
        "--out",
        "build/model",
        "{literal}",
    )
    with pytest.raises(CommandError, match="'no-such-program' is not on PATH"):
        run_command(
            "build.command",
            Command(("no-such-program",), timedelta(minutes=1)),
            placeholders={},
            cwd=tmp_path,
            environ={"PATH": str(tmp_path)},
            log=tmp_path / "x.log",
        )
