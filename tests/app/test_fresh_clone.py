"""The lifecycle's state lives in git: clone A releases through a real bare origin (the
fake GitHub over it, a real registry), and a fresh clone B, with nothing but git and no
MLflow, knows production, its metrics and A's candidates."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ENVIRON, CliRunner, commit, git, records_of
from tests.github.fake import TOKEN, FakeGitHub
from tests.image.conftest import use_image
from tests.services import RegistryServer

MODEL = "churn-classifier"


def clone(origin: Path, folder: Path, *arguments: str) -> Path:
    subprocess.run(["git", "clone", "-q", *arguments, str(origin), str(folder)], check=True)
    return folder


def worse_model(folder: Path) -> None:
    """Training that ignores the numeric features: accuracy drops against production."""
    train = folder / "train.py"
    text = train.read_text()
    marker = "    churn_model.save("
    train.write_text(text.replace(marker, "    classifier.coef_[0][:3] = 0.0\n" + marker, 1))
    commit(folder, "fix: a simpler model")


@pytest.mark.slow
def test_a_fresh_clone_holds_production_to_its_recorded_metrics(
    shipped_example: Path,
    registry: RegistryServer,
    base_image: str,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    a = shipped_example
    image = f"{registry.host}/acme/{re.sub('[^a-z0-9]+', '-', tmp_path.name.lower()).strip('-')}"
    use_image(a, image, base_image)
    for path in (a / "deploy").rglob("*.*"):
        path.write_text(path.read_text().replace("ghcr.io/acme/churn-model", image))
    candidate_commit = commit(a, "feat: the churn model")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(a), str(origin)], check=True)
    git(a, "remote", "add", "origin", str(origin))
    git(a, "fetch", "-q", "origin")
    fake = FakeGitHub(origin)
    try:
        environ = {
            **ENVIRON,
            "MLOPS_CI_PUSH": "true",  # as in GitHub Actions
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/models",
            "GITHUB_API_URL": fake.url,
            "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
        }
        manifest = str(a / "mlops.yaml")
        # A: the candidate, its image, its release pull request, the merge, the publish
        ran = cli("run", "-f", manifest, environ=environ)
        assert ran.status == 0, ran.err
        assert "tracking" not in ran.err.lower()  # no MLflow configured: none asked
        assert not (a / ".mlops-ci" / "mlflow.db").exists()
        assert cli("image", "build", "-f", manifest, environ=environ).status == 0
        pushed = cli("image", "push", "-f", manifest, "--json", environ=environ)
        assert pushed.status == 0, pushed.err
        digest = json.loads(pushed.out)["digest"]
        opened = cli("release", "pr", "-f", manifest, "--json", environ=environ)
        assert opened.status == 0, opened.err
        number = json.loads(opened.out)["number"]
        fake.route("PUT", f"/repos/acme/models/pulls/{number}/merge", {}, {})
        git(a, "pull", "-q", "--no-rebase", "origin", "main")
        published = cli("release", "publish", "-f", manifest, environ=environ)
        assert published.status == 0, published.err

        # B: a fresh clone of main after the release, nothing but git
        b = clone(origin, tmp_path / "b")
        assert not (b / ".mlops-ci").exists()
        plain = {**ENVIRON}  # no MLflow, no token, not in Actions: fetches, never pushes
        history = json.loads(
            cli("version", "history", "-f", str(b / "mlops.yaml"), "--json", environ=plain).out
        )
        by_version = {entry["version"]: entry for entry in history["versions"]}
        assert by_version["1.44.0-rc.1"]["image_digest"] == digest
        assert by_version["1.44.0"]["state"] == "released"

        same = cli("run", "-f", str(b / "mlops.yaml"), "--json", environ=plain)
        assert same.status == 0, same.err
        test = next(s for s in json.loads(same.out)["stages"] if s["stage"] == "test")
        relative = [g for g in test["checks"] if g["rule"] == "max_drop"]
        assert relative, test
        assert all(g["verdict"] == "passed" for g in relative), relative
        assert all("against 1.44.0" in g["message"] for g in relative), relative

        worse_model(b)
        worse = cli("run", "-f", str(b / "mlops.yaml"), "--json", environ=plain)
        assert worse.status == 1, worse.err
        report = json.loads(worse.out)
        test = next(s for s in report["stages"] if s["stage"] == "test")
        failed = [g for g in test["checks"] if g["rule"] == "max_drop" and g["verdict"] == "failed"]
        assert failed, test["checks"]
        assert "against 1.44.0" in failed[0]["message"]

        # B at A's candidate commit (no tags fetched): the same candidate, from the records
        c = clone(origin, tmp_path / "c", "--no-tags")
        git(c, "checkout", "-q", candidate_commit)
        again = cli("build", "-f", str(c / "mlops.yaml"), "--json", environ=plain)
        assert again.status == 0, again.err
        assert json.loads(again.out)["version"] == "1.44.0-rc.1"
        build = records_of(c).read(MODEL, "1.44.0-rc.1", "build")
        assert build is not None
        assert build.params["bump"] == "the candidate built from this commit"
    finally:
        fake.stop()
    assert fake.schema_errors == []
