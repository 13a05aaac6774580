"""The benchmarks keep working (tiny sizes, no timing asserted: timings are for the note)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT


@pytest.mark.slow
def test_manifest_validate_benchmark_runs_and_reports_every_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "benchmarks" / "manifest_validate.py"),
            "--runs",
            "1",
            "--manifests",
            "20",
            "--batch-runs",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["many_manifests"]["manifests"] == 20
    assert set(figures["cold_start"]) == {
        "python_c_pass_s",
        "validate_example_s",
        "above_interpreter_s",
    }
    assert all(value > 0 for value in figures["many_manifests"].values())
