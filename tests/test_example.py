"""examples/churn works out of the box, offline: its data, its commands and its gates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.core.commands import Command
from mlops_ci.core.signature import output_mismatches
from mlops_ci.manifest.loader import load_manifest
from tests.conftest import EXAMPLE


def run(command: Command, folder: Path, **placeholders: str) -> str:
    """Run a manifest command the way the stages will: no shell, placeholders filled."""
    argv = [argument.format(**placeholders) for argument in command.argv]
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    result = subprocess.run(
        argv,
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=command.timeout.total_seconds(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_data_is_made_deterministically_from_scikit_learn(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("train.csv", "holdout.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / "data" / name).read_bytes(), (
            f"data/{name} differs from what make_data.py makes; run it and commit the result"
        )


@pytest.mark.slow
def test_build_test_and_validate_commands_pass_their_gates(example_copy: Path) -> None:
    manifest = load_manifest(example_copy / "mlops.yaml")
    assert manifest.build
    assert manifest.test
    assert manifest.validate
    assert manifest.test.command
    assert manifest.validate.latency
    values = {
        "artifacts": str(manifest.build.artifacts),
        "metrics": str(manifest.build.metrics),
        "version": "1.44.0-rc.1",
        "name": manifest.model.name,
    }

    run(manifest.build.command, example_copy, **values)
    model_file = manifest.build.artifacts / "model.json"
    first_build = model_file.read_bytes()
    run(manifest.build.command, example_copy, **values)
    assert model_file.read_bytes() == first_build, "training is not reproducible"

    run(manifest.test.command, example_copy, **values)
    metrics = json.loads(manifest.build.metrics.read_text())
    assert set(manifest.test.metrics) <= set(metrics)
    for name, bounds in manifest.test.gates:
        assert bounds.min is None or metrics[name] >= bounds.min, (name, metrics[name])
        assert bounds.max is None or metrics[name] <= bounds.max, (name, metrics[name])

    # The benchmark prints what the validate stage reads; its timings are not asserted here.
    latency = json.loads(run(manifest.validate.latency.command, example_copy, **values))
    assert 0 < latency["p50_ms"] <= latency["p95_ms"]
    assert manifest.model.signature is not None
    assert output_mismatches(manifest.model.signature.outputs, latency["outputs"]) == []
    assert 0 <= latency["outputs"]["churn_probability"] <= 1
    assert manifest.validate.max_memory is not None
    assert 0 < latency["rss_mib"] * 1024**2 <= manifest.validate.max_memory
    size = sum(path.stat().st_size for path in manifest.build.artifacts.rglob("*"))
    assert manifest.validate.max_size is not None
    assert 0 < size <= manifest.validate.max_size
