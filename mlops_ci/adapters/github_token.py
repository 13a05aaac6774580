"""The token mlops-ci acts with on GitHub, for its API calls and its git pushes alike.

GitHub starts no workflow for what the workflow's own ``GITHUB_TOKEN`` does, so a release
pull request opened with it never runs its checks. Two tokens that do:

- a GitHub App's installation token: ``MLOPS_CI_GITHUB_APP_ID`` and the app's private key
  (``MLOPS_CI_GITHUB_APP_PRIVATE_KEY``, the PEM text, or ``..._PRIVATE_KEY_FILE``) are
  exchanged for a token of the installation on ``GITHUB_REPOSITORY`` (a JWT signed with the
  key asks GitHub for it), once per process;
- a personal access token, given as ``GITHUB_TOKEN`` like the workflow's own.

The App wins when both are set. Neither the key nor a token reaches a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from mlops_ci.adapters.github_session import API_VERSION, DEFAULT_API
from mlops_ci.errors import ServiceError, UsageError

APP_ID = "MLOPS_CI_GITHUB_APP_ID"
APP_KEY = "MLOPS_CI_GITHUB_APP_PRIVATE_KEY"
APP_KEY_FILE = "MLOPS_CI_GITHUB_APP_PRIVATE_KEY_FILE"

# (app id, repository, API) -> the installation token; a process lives less than its hour.
_exchanged: dict[tuple[str, str, str], str] = {}


def has_github_token(environ: Mapping[str, str]) -> bool:
    """Whether a token can be had, without asking GitHub for one."""
    return bool(environ.get(APP_ID) or environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN"))


def github_token(
    environ: Mapping[str, str], on_secret: Callable[[str], None] = lambda secret: None
) -> str | None:
    """The App's installation token when an App is set, else ``GITHUB_TOKEN``/``GH_TOKEN``;
    None without either. ``on_secret`` is told a token the tool came by itself."""
    app_id = environ.get(APP_ID, "").strip()
    if not app_id:
        return environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or None
    repository = environ.get("GITHUB_REPOSITORY", "")
    if repository.count("/") != 1:
        raise UsageError(
            f"{APP_ID} is set: set GITHUB_REPOSITORY to OWNER/NAME too, the repository the "
            "app is installed on (Actions sets it for you)"
        )
    api = (environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    key = (app_id, repository, api)
    if key not in _exchanged:
        _exchanged[key] = _installation_token(app_id, _private_key(environ), repository, api)
    on_secret(_exchanged[key])
    return _exchanged[key]


def _private_key(environ: Mapping[str, str]) -> str:
    text = environ.get(APP_KEY, "")
    path = environ.get(APP_KEY_FILE, "")
    if not text and path:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise UsageError(
                f"{APP_KEY_FILE}={path}: cannot be read ({error.strerror}); name the app's "
                "private key file (.pem)"
            ) from None
    if "PRIVATE KEY-----" not in text:
        raise UsageError(
            f"{APP_ID} is set but {APP_KEY} (or {APP_KEY_FILE}) holds no PEM private key; "
            "give the app's private key (.pem, from the app's settings)"
        )
    return text.replace("\\n", "\n")  # a key pasted as one line with \n in it


def _installation_token(app_id: str, private_key: str, repository: str, api: str) -> str:
    import github
    import jwt

    owner, name = repository.split("/")
    try:
        auth = github.Auth.AppAuth(app_id, private_key)
        integration = github.GithubIntegration(
            auth=auth,
            base_url=api,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            api_version=API_VERSION,
            timeout=30,
        )
        installation = integration.get_repo_installation(owner, name)
        token = integration.get_access_token(installation.id).token
    except (ValueError, TypeError, jwt.PyJWTError):  # the key does not load or sign
        raise UsageError(
            f"{APP_KEY}: the app's private key cannot sign (not an RSA key in PEM); give "
            "the .pem the app's settings made"
        ) from None
    except github.GithubException as error:
        hint = {
            401: "the app id or its private key is wrong",
            404: f"the app is not installed on {repository}; install it there",
        }.get(error.status, "try again")
        raise ServiceError(
            f"GitHub gave no installation token for app {app_id} on {repository} "
            f"(HTTP {error.status}): {hint}"
        ) from None
    except OSError as error:  # the connection
        raise ServiceError(
            f"GitHub could not be reached for the app's installation token ({error}); "
            "check GITHUB_API_URL and the network"
        ) from None
    return str(token)
