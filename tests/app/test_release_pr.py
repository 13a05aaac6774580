"""`mlops-ci release pr` end to end: a real git repository and its bare origin, the fake
GitHub over that origin, a real registry with the candidate's image."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import ENVIRON, CliRunner, commit, embedded_tracker, git
from tests.github.fake import APP_ID, TOKEN, FakeGitHub, app_private_key
from tests.image.conftest import use_image
from tests.services import RegistryServer

MODEL = "churn-classifier"


class Released(NamedTuple):
    repository: Path
    fake: FakeGitHub
    environ: dict[str, str]
    image: str


@pytest.fixture
def released_repo(
    example_copy: Path, registry: RegistryServer, base_image: str, cli: CliRunner, tmp_path: Path
) -> Iterator[Released]:
    """The example with a validated candidate whose image is in the registry, main pushed
    to a bare origin that the fake GitHub serves."""
    # A repository per test: the registry is shared by the session.
    image = f"{registry.host}/acme/{re.sub('[^a-z0-9]+', '-', tmp_path.name.lower()).strip('-')}"
    use_image(example_copy, image, base_image)
    for path in (example_copy / "deploy").rglob("*.*"):
        path.write_text(path.read_text().replace("ghcr.io/acme/churn-model", image))
    commit(example_copy, "feat: the churn model")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(example_copy), str(bare)], check=True)
    git(example_copy, "remote", "add", "origin", str(bare))
    manifest = str(example_copy / "mlops.yaml")
    ran = cli("run", "-f", manifest, environ=ENVIRON)  # the embedded MLflow store
    assert ran.status == 0, ran.out
    assert cli("image", "build", "-f", manifest).status == 0
    assert cli("image", "push", "-f", manifest).status == 0
    fake = FakeGitHub(bare)
    environ = {
        **ENVIRON,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": fake.url,
        "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
    }
    yield Released(example_copy, fake, environ, image)
    fake.stop()
    assert fake.schema_errors == []


def merge(released: Released, number: int) -> None:
    """The merge button, then the base branch pulled into the work tree."""
    released.fake.route("PUT", f"/repos/acme/models/pulls/{number}/merge", {}, {})
    git(released.repository, "pull", "-q", "--no-rebase", "origin", "main")


def test_a_release_pull_request_opens_once_and_stays_quiet(
    released_repo: Released, cli: CliRunner
) -> None:
    repository, fake, environ, image = released_repo
    manifest = str(repository / "mlops.yaml")
    opened = cli("release", "pr", "-f", manifest, "--json", environ=environ)
    assert opened.status == 0, opened.err
    result = json.loads(opened.out)
    assert (result["number"], result["created"], result["environment"]) == (1, True, "staging")
    assert result["branch"] == f"mlops-ci/release/{MODEL}/staging"
    assert fake.calls == [  # the budget for a new release pull request: 12
        ("GET", "/repos/acme/models/pulls"),
        ("POST", "/repos/acme/models/pulls"),
        ("POST", "/repos/acme/models/issues/1/labels"),
        ("POST", "/repos/acme/models/pulls/1/requested_reviewers"),
    ]
    pull = fake.pulls[1]
    assert pull.team_reviewers == ["ml-team"]  # model.owners: @acme/ml-team
    assert pull.title == f"Release {MODEL} 1.44.0 to staging"
    assert pull.labels == ["release"]
    assert pull.body.startswith(f"### ✅ {MODEL} 1.44.0-rc.1 passed every gate")
    assert "| `size_mib` |" in pull.body
    assert "| `p95_ms` |" in pull.body
    card = pull.body.split("<details><summary>Model card</summary>")[1].split("</details>")[0]
    assert f"# Model card: {MODEL} 1.44.0-rc.1" in card
    assert "`slices.region.west.accuracy`" in card.split("## Slices")[1]
    assert "`train: drift psi`" in card.split("## Drift")[1]
    assert "Ranks existing customers for retention offers" in card  # model.intended_use
    state = json.loads(
        (repository / ".mlops-ci" / "images" / MODEL / "1.44.0-rc.1.json").read_text()
    )
    deploy = gzip.decompress(bytes.fromhex(state["deploy_bytes"]))
    with tarfile.open(fileobj=io.BytesIO(deploy)) as archive:
        shipped = archive.extractfile("MODEL_CARD.md").read().decode()  # type: ignore[union-attr]
    assert shipped.startswith(f"# Model card: {MODEL} 1.44.0-rc.1\n")
    assert "## Slices" in shipped
    bare = fake.bare
    branch = f"refs/heads/{result['branch']}"
    staging = git(bare, "show", f"{branch}:deploy/staging/mlapp.yaml")
    assert f"{image}:1.44.0@{result['digest']}" in staging
    assert "version: 1.44.0 " in git(bare, "show", f"{branch}:mlops.yaml")
    assert git(bare, "show", f"{branch}:CHANGELOG.md").startswith(
        f"# Changelog\n\n## {MODEL} 1.44.0"
    )
    assert git(bare, "rev-parse", f"{branch}^").strip() == git(bare, "rev-parse", "main").strip()

    before = len(fake.calls)
    again = cli("release", "pr", "-f", manifest, environ=environ)
    assert again.status == 0, again.err
    assert "up to date (nothing to do)" in again.out
    rerun = fake.calls[before:]
    assert rerun == [("GET", "/repos/acme/models/pulls")]  # one read, zero writes

    production = cli(
        "release", "pr", "-f", manifest, "--environment", "production", environ=environ
    )
    assert production.status == 2
    assert "production opens after staging" in production.err

    # A new candidate: the same pull request, its branch and text updated.
    commit(repository, "fix: a better threshold", touch="notes.txt")
    assert cli("run", "-f", manifest, environ=ENVIRON).status == 0
    assert cli("image", "build", "-f", manifest).status == 0
    assert cli("image", "push", "-f", manifest).status == 0
    git(repository, "push", "-q", "origin", "HEAD:main")
    before = len(fake.calls)
    updated = cli("release", "pr", "-f", manifest, "--json", environ=environ)
    assert updated.status == 0, updated.err
    second = json.loads(updated.out)
    assert (second["number"], second["candidate"], second["created"]) == (1, "1.44.0-rc.2", False)
    assert (second["pushed"], second["edited"]) == (True, True)
    assert fake.calls[before:] == [  # the budget for an update: 8
        ("GET", "/repos/acme/models/pulls"),
        ("PATCH", "/repos/acme/models/pulls/1"),
    ]
    assert len(fake.pulls) == 1
    assert "1.44.0-rc.2" in fake.pulls[1].body
    assert git(bare, "rev-parse", f"{branch}^").strip() == git(bare, "rev-parse", "main").strip()

    # The merge, then publish: the second candidate is what ships.
    merge(released_repo, 1)
    published = cli("release", "publish", "-f", manifest, "--json", environ=environ)
    assert published.status == 0, published.err
    shipped = json.loads(published.out)
    assert (shipped["candidate"], shipped["digest"]) == ("1.44.0-rc.2", second["digest"])
    assert embedded_tracker(repository).alias_target("staging") == "1.44.0-rc.2"


def test_merge_then_publish_once(
    released_repo: Released,
    cli: CliRunner,
    registry: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.services import skopeo

    repository, fake, environ, image = released_repo
    monkeypatch.chdir(repository)
    manifest = "mlops.yaml"  # relative, as the actions pass it
    opened = json.loads(cli("release", "pr", "-f", manifest, "--json", environ=environ).out)
    early = cli("release", "publish", "--merged-model", environ=environ)
    assert early.status == 2
    assert "is not the merge of a release pull request" in early.err
    merge(released_repo, opened["number"])
    assert git(repository, "rev-parse", "HEAD").strip() == fake.pulls[1].merge_commit_sha

    # --merged-model: the manifest of the model the merged pull request names
    published = cli("release", "publish", "--merged-model", "--json", environ=environ)
    assert published.status == 0, published.err
    result = json.loads(published.out)
    assert (result["tag"], result["already_released"]) == (f"{MODEL}@1.44.0", False)
    assert (
        git(fake.bare, "rev-parse", f"{MODEL}@1.44.0^{{commit}}").strip()
        == fake.pulls[1].merge_commit_sha
    )
    assert list(fake.releases) == [f"{MODEL}@1.44.0"]
    assert "released" in fake.pulls[1].labels
    for tag in ("1.44.0", "staging"):
        inspected = skopeo("inspect", "--tls-verify=false", f"docker://{image}:{tag}")
        assert json.loads(inspected.stdout)["Digest"] == opened["digest"]

    tracker = embedded_tracker(repository)
    assert tracker.alias_target("staging") == "1.44.0-rc.1"
    assert tracker.alias_target("production") is None  # staging is not production

    before = len(fake.writes)
    again = cli("release", "publish", "-f", manifest, "--no-tracking", environ=environ)
    assert again.status == 0, again.err
    assert "already released" in again.out
    assert len(fake.writes) == before  # no second tag, release or label


def test_two_publishes_at_once_make_one_tag_and_one_release(
    released_repo: Released, cli: CliRunner
) -> None:
    import os
    import sys

    repository, fake, environ, _image = released_repo
    manifest = str(repository / "mlops.yaml")
    opened = json.loads(cli("release", "pr", "-f", manifest, "--json", environ=environ).out)
    merge(released_repo, opened["number"])
    command = [
        sys.executable,
        "-m",
        "mlops_ci",
        "release",
        "publish",
        "-f",
        manifest,
        "--no-tracking",
    ]
    children = [
        subprocess.Popen(
            command,
            env={**os.environ, **environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert list(fake.releases) == [f"{MODEL}@1.44.0"]
    tags = git(fake.bare, "tag", "--list", f"{MODEL}@*").split()
    assert tags == [f"{MODEL}@1.44.0"]
    assert fake.pulls[1].labels.count("released") == 1


def test_bad_input_leaves_github_untouched(released_repo: Released, cli: CliRunner) -> None:
    repository, fake, environ, image = released_repo
    manifest = str(repository / "mlops.yaml")
    no_token = {k: v for k, v in environ.items() if k != "GITHUB_TOKEN"}
    refused = cli("release", "pr", "-f", manifest, environ=no_token)
    assert refused.status == 2
    assert "no GitHub token: set GITHUB_TOKEN" in refused.err

    staging = repository / "deploy" / "staging" / "mlapp.yaml"
    staging.write_text(staging.read_text().replace(image, f"{image}-other"))
    commit(repository, "chore: point staging elsewhere")
    git(repository, "push", "-q", "origin", "HEAD:main")
    broken = cli("release", "pr", "-f", manifest, "--version", "1.44.0-rc.1", environ=environ)
    assert broken.status == 2
    assert "deploy/staging/mlapp.yaml has no image of" in broken.err
    assert fake.writes == []
    assert git(fake.bare, "branch", "--list", "mlops-ci/*").strip() == ""


def test_the_branch_follows_the_base_and_protection_is_reported(
    released_repo: Released, cli: CliRunner
) -> None:
    repository, fake, environ, _image = released_repo
    manifest = str(repository / "mlops.yaml")
    # GitHub Enterprise answers under /api/v3.
    enterprise = {**environ, "GITHUB_API_URL": f"{fake.url}/api/v3"}
    assert cli("release", "pr", "-f", manifest, environ=enterprise).status == 0

    # A hand edit on the base: the next run rebuilds the branch on it, keeping the edit.
    text = (repository / "mlops.yaml").read_text()
    (repository / "mlops.yaml").write_text(
        text.replace("apiVersion: mlops-ci/v1", "apiVersion: mlops-ci/v1  # edited by hand")
    )
    commit(repository, "docs: a note in the manifest")
    git(repository, "push", "-q", "origin", "HEAD:main")
    before = len(fake.calls)
    pinned = ("--version", "1.44.0-rc.1")
    followed = json.loads(
        cli("release", "pr", "-f", manifest, "--json", *pinned, environ=environ).out
    )
    # The body lists the commits since the last release: the new one shows.
    assert (followed["pushed"], followed["edited"]) == (True, True)
    assert fake.calls[before:] == [
        ("GET", "/repos/acme/models/pulls"),
        ("PATCH", "/repos/acme/models/pulls/1"),
    ]
    assert "docs: a note in the manifest" in fake.pulls[1].body
    branch = f"refs/heads/{followed['branch']}"
    on_branch = git(fake.bare, "show", f"{branch}:mlops.yaml")
    assert "# edited by hand" in on_branch
    assert "version: 1.44.0 " in on_branch

    # Protection against force pushes: the push is refused, nothing else happens.
    hook = fake.bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nwhile read old new ref; do\n"
        '  case "$ref" in refs/heads/mlops-ci/*)\n'
        '    if [ "$old" != 0000000000000000000000000000000000000000 ] && '
        '! git merge-base --is-ancestor "$old" "$new"; then\n'
        '      echo "protected branch: force push refused" >&2; exit 1; fi;;\n  esac\ndone\n'
    )
    hook.chmod(0o755)
    commit(repository, "docs: another note", touch="notes.txt")
    git(repository, "push", "-q", "origin", "HEAD:main")
    before = len(fake.writes)
    protected = cli("release", "pr", "-f", manifest, *pinned, environ=environ)
    assert protected.status == 2
    assert "was refused" in protected.err
    assert "protected" in protected.err
    assert len(fake.writes) == before


def test_a_rollback_pins_the_earlier_digest_again(
    released_repo: Released, cli: CliRunner, registry: RegistryServer
) -> None:
    from tests.services import skopeo

    repository, fake, environ, image = released_repo
    manifest = str(repository / "mlops.yaml")
    # 1.43.13 as publish would have left it: its tag in the registry.
    copied = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{image}:1.44.0-rc.1", f"docker://{image}:1.43.13")  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    earlier = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{image}:1.43.13").stdout
    )["Digest"]
    rolled = cli(
        "release",
        "pr",
        "-f",
        manifest,
        "--rollback-to",
        "1.43.13",
        "--environment",
        "staging",
        "--json",
        environ=environ,
    )
    assert rolled.status == 0, rolled.err
    result = json.loads(rolled.out)
    assert (result["version"], result["digest"]) == ("1.43.13", earlier)
    pull = fake.pulls[result["number"]]
    assert pull.title == f"Roll back {MODEL} to 1.43.13 in staging"
    assert pull.body.startswith(f"### ⏪ Rolls {MODEL} back to 1.43.13 in staging.")
    staging = git(fake.bare, "show", f"refs/heads/{result['branch']}:deploy/staging/mlapp.yaml")
    assert f"{image}:1.43.13@{earlier}" in staging

    unknown = cli("release", "pr", "-f", manifest, "--rollback-to", "1.2.3", environ=environ)
    assert unknown.status == 2
    assert "only a published version can be rolled back to" in unknown.err


def test_a_tag_at_another_commit_stops_publish(
    released_repo: Released, cli: CliRunner, registry: RegistryServer
) -> None:
    from tests.services import skopeo

    repository, fake, environ, image = released_repo
    manifest = str(repository / "mlops.yaml")
    opened = json.loads(cli("release", "pr", "-f", manifest, "--json", environ=environ).out)
    git(repository, "tag", "-a", "-m", "by hand", f"{MODEL}@1.44.0", "HEAD")
    git(repository, "push", "-q", "origin", f"refs/tags/{MODEL}@1.44.0")
    merge(released_repo, opened["number"])
    before = len(fake.writes)
    stopped = cli("release", "publish", "-f", manifest, "--no-tracking", environ=environ)
    assert stopped.status == 2
    assert f"the tag {MODEL}@1.44.0 exists on origin" in stopped.err
    assert "nothing was published" in stopped.err
    assert len(fake.writes) == before  # no release, no label
    listed = skopeo("list-tags", "--tls-verify=false", f"docker://{image}")
    assert "1.44.0" not in json.loads(listed.stdout)["Tags"]  # nothing promoted


def test_a_github_app_opens_the_release_pull_request(
    released_repo: Released, cli: CliRunner
) -> None:
    # The workflow's GITHUB_TOKEN starts no workflow on the pull request it opens; an
    # App's installation token does, so with an App set every call goes with its token.
    repository, fake, environ, _ = released_repo
    environ = {key: value for key, value in environ.items() if key != "GITHUB_TOKEN"}
    environ |= {
        "MLOPS_CI_GITHUB_APP_ID": str(APP_ID),
        "MLOPS_CI_GITHUB_APP_PRIVATE_KEY": app_private_key(),
    }
    opened = cli("release", "pr", "-f", str(repository / "mlops.yaml"), "--json", environ=environ)
    assert opened.status == 0, opened.err
    assert json.loads(opened.out)["created"] is True
    assert len(fake.installation_tokens) == 1
    assert fake.tokens
    assert set(fake.tokens) == {fake.installation_tokens[0]}
    assert fake.installation_tokens[0] not in opened.out + opened.err
    assert "PRIVATE KEY" not in opened.out + opened.err
