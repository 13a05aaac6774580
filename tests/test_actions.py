"""The composite actions: valid for GitHub, clean for zizmor (pedantic), inputs only through
env:, every input and output declared, used and described, third parties pinned by SHA."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT

ACTIONS = sorted((PROJECT / "actions").glob("*/action.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        pytest.fail(f"{name} is not installed (pip install 'mlops-ci[test]')")
    return found


def test_there_are_actions() -> None:
    assert {path.parent.name for path in ACTIONS} >= {
        "changed", "check", "image", "release-pr", "publish", "prune", "monitor", "report"
    }  # fmt: skip


def test_github_accepts_every_action() -> None:
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_pedantic_finds_nothing() -> None:
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress",
         str(PROJECT / "actions")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_inputs_reach_scripts_only_through_env(path: Path) -> None:
    action = yaml.safe_load(path.read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in str(step.get("run", "")), f"{path}: {step.get('name')} expands in run:"
        assert step.get("shell", "bash") == "bash" or "uses" in step


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_inputs_and_outputs_are_declared_used_and_described(path: Path) -> None:
    text = path.read_text()
    action = yaml.safe_load(text)
    declared = set(action.get("inputs") or {})
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text))
    assert used == declared, (
        f"{path}: declared but unused {declared - used}, used but undeclared {used - declared}"
    )
    for name, spec in (action.get("inputs") or {}).items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), f"{name} is not kebab-case"
        assert spec.get("description"), name
        assert "default" in spec, name
    steps = {step.get("id") for step in action["runs"]["steps"]}
    for name, spec in (action.get("outputs") or {}).items():
        assert spec.get("description"), name
        step = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.[\w-]+ \}\}", spec["value"])
        assert step is not None, f"{path}: output {name}"
        assert step.group(1) in steps, f"{path}: output {name}"
    readme = (path.parent / "README.md").read_text()
    for name in [*declared, *(action.get("outputs") or {})]:
        assert f"`{name}`" in readme, f"{path.parent}/README.md does not document {name}"
    assert "## Permissions" in readme


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_third_party_actions_are_pinned_by_sha(path: Path) -> None:
    lines = path.read_text().splitlines()
    for line in lines:
        found = re.match(r"\s*(?:- )?uses:\s*(\S+)(\s*#\s*v[\d.]+)?", line)
        if found is None or found.group(1).startswith("./"):
            continue
        assert PINNED.match(found.group(1)), f"{path}: {found.group(1)} is not pinned by SHA"
        assert found.group(2), f"{path}: {found.group(1)} needs a version comment"


def test_install_locates_the_actions_own_sources(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(PROJECT / "actions" / "install.sh"), "locate",
         str(PROJECT / "actions" / "check")],
        capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path)},
    )  # fmt: skip
    values = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert re.fullmatch(r"[0-9a-f]{40}", values["key"])
    assert values["venv"] == f"{tmp_path}/mlops-ci/{values['key']}"


WORKFLOWS = sorted(
    [
        *(PROJECT / ".github" / "workflows").glob("*.yml"),
        *(PROJECT / "examples" / "workflows").glob("*.yml"),
    ]
)


def test_github_accepts_every_workflow_and_zizmor_finds_nothing() -> None:
    schema = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress",
         *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # Every ignore says why.
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "zizmor: ignore" in line:
                assert " -- " in line.split("zizmor: ignore", 1)[1], f"{path}: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_grant_least_privilege(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}, f"{path}: permissions: {{}} at the top"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path}: job {name} grants its own permissions"
        for step in job.get("steps", []):
            assert "${{" not in str(step.get("run", "")), (
                f"{path}: {step.get('name')} expands in run:"
            )
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path}: {step.get('name')}"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_no_action_promises_the_default_tag_whatever_the_manifest_says(path: Path) -> None:
    for text in (path.read_text(), path.with_name("README.md").read_text()):
        for line in text.splitlines():
            if "{name}@{version}" in line:
                assert "versioning.tag" in line, f"{path.parent.name}: {line.strip()}"
