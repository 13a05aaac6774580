"""The token mlops-ci acts with: a GitHub App's installation token bought with a JWT
(against the fake, which checks the signature), else GITHUB_TOKEN; the key never shows."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mlops_ci.adapters.git import credential_environment
from mlops_ci.adapters.github import connect
from mlops_ci.adapters.github_token import github_token, has_github_token
from mlops_ci.errors import ServiceError, UsageError
from tests.conftest import git
from tests.github.fake import APP_ID, TOKEN, FakeGitHub, app_private_key, new_private_key


def app_environ(fake: FakeGitHub, **extra: str) -> dict[str, str]:
    return {
        "MLOPS_CI_GITHUB_APP_ID": str(APP_ID),
        "MLOPS_CI_GITHUB_APP_PRIVATE_KEY": app_private_key(),
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": fake.url,
        "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
        **extra,
    }


def test_an_app_token_is_bought_once_and_used_for_every_call(github: FakeGitHub) -> None:
    told: list[str] = []
    environ = app_environ(github, GITHUB_TOKEN=TOKEN)  # the App wins over the workflow's
    token = github_token(environ, told.append)
    assert token == github.installation_tokens[0]
    assert told == [token]
    assert github_token(environ) == token
    assert len(github.installation_tokens) == 1  # once per process
    client = connect(environ)
    assert client.open_pull("mlops-ci/release/m", "main") is None
    assert github.tokens[-1] == token
    assert has_github_token({"MLOPS_CI_GITHUB_APP_ID": "1"})
    assert not has_github_token({})
    assert github_token({"GH_TOKEN": "from-gh"}) == "from-gh"  # a personal token as is


def test_git_pushes_with_the_apps_token(github: FakeGitHub, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "remote", "add", "origin", "https://github.com/acme/models.git")
    environ = app_environ(github, GITHUB_SERVER_URL="https://github.com")
    extra = credential_environment(work, environ)
    assert extra is not None
    header = extra["GIT_CONFIG_VALUE_0"]
    sent = base64.b64decode(header.removeprefix("AUTHORIZATION: basic ")).decode()
    assert sent == f"x-access-token:{github.installation_tokens[-1]}"


def test_what_goes_wrong_is_said_without_the_key(github: FakeGitHub, tmp_path: Path) -> None:
    wrong = new_private_key()
    with pytest.raises(ServiceError, match=r"\(HTTP 401\): the app id or its private key is wrong"):
        github_token(app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY=wrong))
    github.app_installed = False
    with pytest.raises(ServiceError, match="the app is not installed on acme/models") as missing:
        github_token(app_environ(github, GITHUB_API_URL=github.url + "/"))
    assert "PRIVATE KEY" not in str(missing.value)
    with pytest.raises(UsageError, match="holds no PEM private key"):
        github_token(app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY="not a key"))
    garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(UsageError, match="cannot sign") as unsigned:
        github_token(app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY=garbage))
    assert "AAAA" not in str(unsigned.value)
    environ = app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY_FILE=str(tmp_path / "no.pem"))
    del environ["MLOPS_CI_GITHUB_APP_PRIVATE_KEY"]
    with pytest.raises(UsageError, match=r"no.pem: cannot be read"):
        github_token(environ)
    with pytest.raises(UsageError, match="set GITHUB_REPOSITORY"):
        github_token(app_environ(github, GITHUB_REPOSITORY=""))


def test_a_key_from_a_file_or_pasted_on_one_line(github: FakeGitHub, tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(app_private_key())
    environ = app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY_FILE=str(pem))
    del environ["MLOPS_CI_GITHUB_APP_PRIVATE_KEY"]
    environ["GITHUB_API_URL"] = github.url + "/api/v3"  # GitHub Enterprise's form
    assert github_token(environ) in github.installation_tokens
    one_line = app_private_key().replace("\n", "\\n")
    environ = app_environ(github, MLOPS_CI_GITHUB_APP_PRIVATE_KEY=one_line)
    environ["GITHUB_API_URL"] = github.url + "/api/v3/"
    assert github_token(environ) in github.installation_tokens
