"""Logging in to a registry: the credentials (the environment's, or Docker's config), and
what each ``WWW-Authenticate`` challenge asks for (Basic, or a Bearer token fetched from the
realm it names, per scope). Passwords and tokens go to ``on_secret`` (the log masker) the
moment they are known and never into a message."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError


class RegistryAuthError(MlopsCiError):
    """The registry refused our credentials (or we had none where it needs some)."""

    exit_status = ExitStatus.SERVICE_FAILED


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def find_credentials(
    registry: str, environ: Mapping[str, str], home: Path | None = None
) -> Credentials | None:
    """The credentials for ``registry``: the environment's first, then Docker's config."""
    user = environ.get("MLOPS_CI_REGISTRY_USERNAME")
    password = environ.get("MLOPS_CI_REGISTRY_PASSWORD")
    if user and password:
        return Credentials(user, password)
    folder = environ.get("DOCKER_CONFIG")
    home = home or Path(environ.get("HOME") or Path.home())
    config = Path(folder) / "config.json" if folder else home / ".docker" / "config.json"
    try:
        auths = json.loads(config.read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    hub = registry in ("docker.io", "registry-1.docker.io")
    names = [registry, f"https://{registry}", f"http://{registry}"]
    if hub:
        names += ["https://index.docker.io/v1/", "index.docker.io"]
    for name in names:
        entry = auths.get(name) if isinstance(auths, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if user and password:
                return Credentials(user, password)
    return None


class Login:
    """One registry's login state: Basic once it asked for it, a token per scope."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        session: Any,
        timeout: float,
        on_secret: Callable[[str], None],
    ) -> None:
        self.registry = registry
        self._credentials = credentials
        self._session = session
        self._timeout = timeout
        self._on_secret = on_secret
        self._tokens: dict[str, str] = {}
        self._fetched: dict[str, int] = {}
        self._basic = False
        self.open = False  # the registry answered without asking for a login
        if credentials is not None:
            on_secret(credentials.password)

    def ready(self, scope: str | None) -> bool:
        return self.open or self._basic or (scope or "") in self._tokens

    def header(self, scope: str | None) -> dict[str, str]:
        token = self._tokens.get(scope or "")
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        if self._basic and self._credentials is not None:
            pair = f"{self._credentials.username}:{self._credentials.password}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        return {}

    def learn(self, answer: Any, scope: str | None) -> None:
        """What the ``WWW-Authenticate`` challenge asks for; refuses when it asks for what
        was already sent."""
        kind, params = _parse_challenge(answer.headers.get("WWW-Authenticate", ""))
        if kind == "basic":
            if self._credentials is None:
                raise RegistryAuthError(
                    f"{self.registry} needs a login; set MLOPS_CI_REGISTRY_USERNAME and "
                    "MLOPS_CI_REGISTRY_PASSWORD, or run `docker login`"
                )
            if self._basic:
                self.refused(scope)
            self._basic = True
            return
        if kind == "bearer":
            key = scope or ""
            fetched = self._fetched.get(key, 0)
            if fetched >= 2:  # a fresh token refused twice: not an expiry
                self.refused(scope)
            self._fetched[key] = fetched + 1
            self._tokens[key] = self._fetch_token(params, key)
            return
        raise RegistryAuthError(
            f"{self.registry} asks for a login mlops-ci does not know ({kind or 'none'})"
        )

    def refused(self, scope: str | None) -> None:
        who = (
            f"the credentials of {self._credentials.username!r}"
            if self._credentials
            else ("an anonymous request")
        )
        raise RegistryAuthError(
            f"{self.registry} refused {who}"
            + (f" for {scope}" if scope else "")
            + "; check the login and its permissions"
        )

    def _fetch_token(self, params: Mapping[str, str], scope: str) -> str:
        import requests

        realm = params.get("realm")
        if not realm:
            raise RegistryAuthError(f"{self.registry}'s Bearer challenge names no realm")
        query = {"service": params.get("service", ""), "scope": scope.split(" ") if scope else []}
        auth = None
        if self._credentials is not None:
            auth = (self._credentials.username, self._credentials.password)
        try:
            answer = self._session.get(realm, params=query, auth=auth, timeout=self._timeout)
        except requests.RequestException as error:
            raise ServiceError(
                f"the token service of {self.registry} did not answer ({type(error).__name__})"
            ) from None
        if answer.status_code in (401, 403):
            raise RegistryAuthError(
                f"{self.registry}'s token service refused "
                + (
                    f"the credentials of {self._credentials.username!r}"
                    if self._credentials
                    else "an anonymous login"
                )
            )
        try:
            token = answer.json().get("token") or answer.json().get("access_token")
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise ServiceError(f"{self.registry}'s token service answered without a token")
        self._on_secret(token)
        return token


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in re.findall(r'(\w+)="([^"]*)"', rest)}
    return kind.lower(), params
