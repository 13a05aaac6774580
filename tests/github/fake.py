"""A stateful fake of the GitHub REST endpoints mlops-ci uses, for one repository, backed
by a real bare git repository: branches are real refs, a merge is a real merge commit.

GitHub cannot be reached from here. Every answer the fake gives is checked against GitHub's
own OpenAPI description (tests/github/openapi.json), as are the requests it receives
(method, path and query parameters, the body against ``requestBody``); a test fails on any mismatch
(``schema_errors``). It counts calls, and answers on cue with 5xx, secondary rate limits
(403 or 429 with ``Retry-After``) and 422s, before or after doing what was asked.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.github import schema
from tests.services import serve

API_VERSIONS = ("2022-11-28",)  # those the vendored description (openapi.json) is of
TOKEN = "ghs_fake0123456789abcdefTOKEN"  # noqa: S105 (the fake's own test token)
APP_ID = 424242
INSTALLATION_ID = 31337


@cache
def app_private_key() -> str:
    """The test GitHub App's RSA key (PEM), made once per session."""
    return new_private_key()


def new_private_key() -> str:
    """A new RSA key (PEM), as a GitHub App's settings make one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Fault:
    """The next request matching ``method`` and ``path_part`` gets ``status``; with
    ``after`` the request is carried out first (a write that worked, reported as failed)."""

    method: str
    status: int
    path_part: str = ""
    after: bool = False
    retry_after: str | None = None


@dataclass
class Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    labels: list[str]
    created_at: str
    state: str = "open"
    state_reason: str | None = None


class FakeGitHub:
    def __init__(self, bare: Path, owner: str = "acme", name: str = "models") -> None:
        self.bare = bare
        self.owner = owner
        self.name = name
        self.pulls: dict[int, Pull] = {}
        self.issues: dict[int, FakeIssue] = {}
        self.releases: dict[str, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}  # id → {issue, body}
        self.calls: list[tuple[str, str]] = []
        self.api_versions: list[str | None] = []  # each request's X-GitHub-Api-Version
        self.faults: list[Fault] = []
        self.schema_errors: list[str] = []
        self.app_installed = True  # the test App is installed on this repository
        self.installation_tokens: list[str] = []  # each token the App exchange gave
        self.tokens: list[str] = []  # the token of each request (calls' order)
        self._next = 1
        self._lock = threading.Lock()
        self.server = serve(self.handle)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] != "GET"]

    # -- the HTTP side ------------------------------------------------------------------

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        method = handler.command
        parts = urlsplit(handler.path)
        path, query = unquote(parts.path.removeprefix("/api/v3")), parse_qs(parts.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.calls.append((method, path))
        version = handler.headers.get("X-GitHub-Api-Version")
        self.api_versions.append(version)
        if version is not None and version not in API_VERSIONS:  # as GitHub answers it
            message = f"Unsupported 'X-GitHub-Api-Version' header {version!r}"
            self._send(handler, method, path, 400, {"message": message}, check=False)
            return
        authorization = handler.headers.get("Authorization", "")
        if path.startswith("/app/") or path.endswith("/installation"):
            status, answer = self._app(method, path, authorization)
            self._send(handler, method, path, status, answer, check=status < 400)
            return
        token = authorization.partition(" ")[2]
        self.tokens.append(token)
        if token not in (TOKEN, *self.installation_tokens):
            self._send(handler, method, path, 401, {"message": "Bad credentials"}, check=False)
            return
        self.schema_errors += self._request_problems(method, path, query, raw)
        fault = self._fault(method, path)
        if fault is not None and not fault.after:
            self._send_fault(handler, method, path, fault)
            return
        try:
            body = json.loads(raw) if raw else {}
            with self._lock:
                status, answer = self.route(method, path, query, body)
        except _Answer as answer_now:
            status, answer = answer_now.status, answer_now.body
        if fault is not None:
            self._send_fault(handler, method, path, fault)
            return
        self._send(handler, method, path, status, answer)

    def _app(self, method: str, path: str, authorization: str) -> tuple[int, Any]:
        """The GitHub App's side, as GitHub does it: a JWT signed with the app's key (RS256,
        issuer the app id) finds the installation and buys it a token."""
        import jwt
        from cryptography.hazmat.primitives import serialization

        public = serialization.load_pem_private_key(
            app_private_key().encode(), password=None
        ).public_key()
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                public,  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return 401, {"message": "A JSON web token could not be decoded"}
        if str(claims["iss"]) != str(APP_ID):
            return 401, {"message": "Integration not found"}
        installation = f"/repos/{self.owner}/{self.name}/installation"
        tokens = f"/app/installations/{INSTALLATION_ID}/access_tokens"
        if (method, path) == ("GET", installation) and self.app_installed:
            return 200, schema.filled(
                method, path, 200, {"id": INSTALLATION_ID, "app_id": APP_ID}, self.url
            )
        if (method, path) == ("POST", tokens) and self.app_installed:
            token = f"ghs_installation{len(self.installation_tokens)}x{APP_ID}"
            self.installation_tokens.append(token)
            answer = {"token": token, "expires_at": "2099-01-01T00:00:00Z"}
            return 201, schema.filled(method, path, 201, answer, self.url)
        return 404, {"message": "Not Found"}

    @staticmethod
    def _request_problems(
        method: str, path: str, query: dict[str, list[str]], raw: bytes
    ) -> list[str]:
        """What GitHub's description says is wrong with the request; a test fails on any."""
        if not raw:
            return schema.request_problems(method, path, query)
        try:
            body = json.loads(raw)
        except ValueError:
            return [f"{method} {path}: the body is not JSON"]
        return schema.request_problems(method, path, query, body)

    def _fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and fault.path_part in path:
                    self.faults.remove(fault)
                    return fault
        return None

    def _send_fault(
        self, handler: http.server.BaseHTTPRequestHandler, method: str, path: str, fault: Fault
    ) -> None:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again."
            if fault.status in (403, 429)
            else "Server Error"
        )
        self._send(handler, method, path, fault.status, {"message": message}, headers, check=False)

    def _send(
        self,
        handler: http.server.BaseHTTPRequestHandler,
        method: str,
        path: str,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
        *,
        check: bool = True,
    ) -> None:
        if check and status < 300:
            self.schema_errors += schema.problems(method, path, status, answer)
        data = b"" if answer is None else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-RateLimit-Remaining", "4999")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    # -- the endpoints --------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        prefix = f"/repos/{self.owner}/{self.name}"
        if not path.startswith(prefix):
            raise _Answer(404, {"message": "Not Found"})
        rest = path[len(prefix) :]
        routes = [
            ("GET", r"", lambda: (200, self._repository())),
            ("GET", r"/pulls", lambda: (200, self._list_pulls(query))),
            ("POST", r"/pulls", lambda: self._create_pull(body)),
            ("GET", r"/pulls/(\d+)", lambda n: (200, self._pull(self._get(n)))),
            ("PATCH", r"/pulls/(\d+)", lambda n: (200, self._edit_pull(self._get(n), body))),
            ("PUT", r"/pulls/(\d+)/merge", lambda n: self._merge(self._get(n), body)),
            (
                "POST",
                r"/pulls/(\d+)/requested_reviewers",
                lambda n: self._review(self._get(n), body),
            ),
            ("POST", r"/issues/(\d+)/labels", lambda n: self._label(self._get(n), body)),
            ("GET", r"/commits/([0-9a-f]+)/pulls", lambda sha: (200, self._pulls_of(sha))),
            ("GET", r"/releases/tags/(.+)", self._release),
            ("GET", r"/issues/(\d+)/comments", lambda n: (200, self._list_comments(n))),
            ("POST", r"/issues/(\d+)/comments", lambda n: self._comment(n, body)),
            ("PATCH", r"/issues/comments/(\d+)", lambda c: self._edit_comment(c, body)),
            ("POST", r"/releases", lambda: self._create_release(body)),
            ("GET", r"/issues", lambda: (200, self._list_issues(query))),
            ("POST", r"/issues", lambda: self._create_issue(body)),
            ("GET", r"/issues/(\d+)", lambda n: (200, self._issue(self._get_issue(n), "GET"))),
            ("PATCH", r"/issues/(\d+)", lambda n: self._edit_issue(self._get_issue(n), body)),
        ]
        for verb, pattern, action in routes:
            found = re.fullmatch(pattern, rest)
            if verb == method and found:
                return action(*found.groups())  # type: ignore[no-any-return,operator]
        raise _Answer(404, {"message": "Not Found"})

    def _get(self, number: str) -> Pull:
        pull = self.pulls.get(int(number))
        if pull is None:
            raise _Answer(404, {"message": "Not Found"})
        return pull

    def _repository(self) -> Any:
        return schema.filled(
            "GET", f"/repos/{self.owner}/{self.name}", 200, self._repo_values(), self._links
        )

    def _repo_values(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "full_name": f"{self.owner}/{self.name}",
            "default_branch": "main",
            "owner": {"login": self.owner},
            "html_url": f"https://github.example/{self.owner}/{self.name}",
        }

    def _list_pulls(self, query: dict[str, list[str]]) -> list[Any]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        found = [
            p
            for p in self.pulls.values()
            if state in ("all", p.state)
            and (head is None or f"{self.owner}:{p.head}" == head)
            and (base is None or p.base == base)
        ]
        path = f"/repos/{self.owner}/{self.name}/pulls"
        return [
            schema.filled_item("GET", path, 200, self._pull_values(p), self._links) for p in found
        ]

    def _create_pull(self, body: dict[str, Any]) -> tuple[int, Any]:
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        head = head.split(":", 1)[-1]
        if any(
            p.head == head and p.base == base and p.state == "open" for p in self.pulls.values()
        ):
            raise _Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {self.owner}:{head}.",
                        }
                    ],
                },
            )
        head_sha = self._ref(head)
        if head_sha is None or self._ref(base) is None:
            raise _Answer(
                422,
                {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]},
            )
        pull = Pull(
            self._number(),
            str(body.get("title", "")),
            str(body.get("body") or ""),
            head,
            base,
            head_sha,
        )
        self.pulls[pull.number] = pull
        return 201, self._pull(pull, "POST", 201)

    def _edit_pull(self, pull: Pull, body: dict[str, Any]) -> Any:
        pull.title = str(body.get("title", pull.title))
        pull.body = str(body.get("body", pull.body))
        if body.get("state") in ("open", "closed"):
            pull.state = str(body["state"])
        return self._pull(pull, "PATCH")

    def _merge(self, pull: Pull, body: dict[str, Any]) -> tuple[int, Any]:
        if pull.state != "open":
            raise _Answer(405, {"message": "Pull Request is not mergeable"})
        pull.merge_commit_sha = self._git_merge(pull, str(body.get("commit_title") or pull.title))
        pull.merged, pull.state = True, "closed"
        return 200, {
            "sha": pull.merge_commit_sha,
            "merged": True,
            "message": "Pull Request successfully merged",
        }

    def _review(self, pull: Pull, body: dict[str, Any]) -> tuple[int, Any]:
        users, teams = body.get("reviewers", []), body.get("team_reviewers", [])
        if any("@" in user or "/" in user for user in users):
            # A login has neither; a team goes in team_reviewers, by its slug.
            raise _Answer(422, {"message": "Reviews may only be requested from collaborators."})
        if any("/" in team or "@" in team for team in teams):
            raise _Answer(422, {"message": "team_reviewers takes team slugs"})
        pull.reviewers += [r for r in users if r not in pull.reviewers]
        pull.team_reviewers += [t for t in teams if t not in pull.team_reviewers]
        path = f"/repos/{self.owner}/{self.name}/pulls/{pull.number}/requested_reviewers"
        return 201, schema.filled("POST", path, 201, self._pull_values(pull), self._links)

    def _label(self, pull: Pull, body: dict[str, Any]) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("labels"), list):
            # GitHub's description: an object with the labels (a bare array is a form it
            # no longer describes).
            raise _Answer(422, {"message": 'Invalid request: labels must be {"labels": [...]}'})
        labels = body["labels"]
        pull.labels += [str(label) for label in labels if label not in pull.labels]
        path = f"/repos/{self.owner}/{self.name}/issues/{pull.number}/labels"
        return 200, [
            schema.filled_item("POST", path, 200, {"name": n}, self._links) for n in pull.labels
        ]

    def _pulls_of(self, sha: str) -> list[Any]:
        found = [p for p in self.pulls.values() if sha in (p.merge_commit_sha, p.head_sha)]
        path = f"/repos/{self.owner}/{self.name}/commits/{sha}/pulls"
        return [
            schema.filled_item("GET", path, 200, self._pull_values(p), self._links) for p in found
        ]

    def _release(self, tag: str) -> tuple[int, Any]:
        if tag not in self.releases:
            raise _Answer(404, {"message": "Not Found"})
        return 200, self.releases[tag]

    def _create_release(self, body: dict[str, Any]) -> tuple[int, Any]:
        tag = str(body.get("tag_name", ""))
        if tag in self.releases:
            raise _Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                    ],
                },
            )
        values = {
            "id": len(self.releases) + 1,
            "tag_name": tag,
            "name": body.get("name") or tag,
            "body": body.get("body") or "",
            "target_commitish": body.get("target_commitish") or "main",
            "draft": bool(body.get("draft", False)),
            "prerelease": bool(body.get("prerelease", False)),
            "html_url": f"https://github.example/{self.owner}/{self.name}/releases/tag/{tag}",
        }
        release = schema.filled(
            "POST", f"/repos/{self.owner}/{self.name}/releases", 201, values, self._links
        )
        self.releases[tag] = release
        return 201, release

    def _comment_values(self, number: int, comment_id: int) -> dict[str, Any]:
        repo = f"/repos/{self.owner}/{self.name}"
        return {
            "id": comment_id,
            "body": self.comments[comment_id]["body"],
            "user": {"login": "mlops-ci"},
            "url": f"{self.url}{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{number}#c{comment_id}",
            "issue_url": f"{self.url}{repo}/issues/{number}",
        }

    def _list_comments(self, number: str) -> list[Any]:
        self._issue_or_pull(number)
        path = f"/repos/{self.owner}/{self.name}/issues/{number}/comments"
        return [
            schema.filled_item("GET", path, 200, self._comment_values(int(number), i), self._links)
            for i, c in sorted(self.comments.items())
            if c["issue"] == int(number)
        ]

    def _comment(self, number: str, body: dict[str, Any]) -> tuple[int, Any]:
        self._issue_or_pull(number)
        comment_id = len(self.comments) + 1
        self.comments[comment_id] = {"issue": int(number), "body": str(body.get("body", ""))}
        path = f"/repos/{self.owner}/{self.name}/issues/{number}/comments"
        values = self._comment_values(int(number), comment_id)
        return 201, schema.filled("POST", path, 201, values, self._links)

    def _edit_comment(self, comment_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        found = self.comments.get(int(comment_id))
        if found is None:
            raise _Answer(404, {"message": "Not Found"})
        found["body"] = str(body.get("body", found["body"]))
        path = f"/repos/{self.owner}/{self.name}/issues/comments/{comment_id}"
        values = self._comment_values(found["issue"], int(comment_id))
        return 200, schema.filled("PATCH", path, 200, values, self._links)

    # -- issues -----------------------------------------------------------------------

    def add_issue(self, title: str, body: str, labels: list[str], created_at: str) -> FakeIssue:
        """An issue someone opened (feedback, say), at ``created_at`` (ISO 8601, UTC)."""
        with self._lock:
            issue = FakeIssue(self._number(), title, body, labels, created_at)
            self.issues[issue.number] = issue
            return issue

    def _get_issue(self, number: str) -> FakeIssue:
        issue = self.issues.get(int(number))
        if issue is None:
            raise _Answer(404, {"message": "Not Found"})
        return issue

    def _issue_or_pull(self, number: str) -> FakeIssue | Pull:
        return self.issues.get(int(number)) or self._get(number)

    def _list_issues(self, query: dict[str, list[str]]) -> list[Any]:
        state = query.get("state", ["open"])[0]
        wanted = {x for x in query.get("labels", [""])[0].split(",") if x}
        since = query.get("since", [""])[0]
        path = f"/repos/{self.owner}/{self.name}/issues"
        found: list[Any] = []
        for number in sorted({*self.issues, *self.pulls}, reverse=True):
            item = self.issues.get(number) or self.pulls[number]
            if state not in ("all", item.state):
                continue
            if not wanted <= set(item.labels):
                continue
            if isinstance(item, FakeIssue) and since and _moment(item.created_at) < _moment(since):
                continue  # updated_at is created_at here
            values = (
                self._issue_values(item)
                if isinstance(item, FakeIssue)
                else {**self._issue_values_of_pull(item)}
            )
            found.append(schema.filled_item("GET", path, 200, values, self._links))
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        return found[(page - 1) * per_page : page * per_page]

    def _create_issue(self, body: dict[str, Any]) -> tuple[int, Any]:
        labels = [str(x) for x in body.get("labels", [])]
        issue = FakeIssue(
            self._number(),
            str(body.get("title", "")),
            str(body.get("body", "")),
            labels,
            "2026-11-25T12:00:00Z",
        )
        self.issues[issue.number] = issue
        return 201, self._issue(issue, "POST", 201)

    def _edit_issue(self, issue: FakeIssue, body: dict[str, Any]) -> tuple[int, Any]:
        issue.body = str(body.get("body", issue.body))
        issue.title = str(body.get("title", issue.title))
        issue.state = str(body.get("state", issue.state))
        issue.state_reason = body.get("state_reason", issue.state_reason)
        return 200, self._issue(issue, "PATCH")

    def _issue(self, issue: FakeIssue, method: str, status: int = 200) -> Any:
        path = f"/repos/{self.owner}/{self.name}/issues"
        if method != "POST":
            path += f"/{issue.number}"
        return schema.filled(method, path, status, self._issue_values(issue), self._links)

    def _issue_values(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "id": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "created_at": issue.created_at,
            "updated_at": issue.created_at,
            "html_url": f"https://github.example/{self.owner}/{self.name}/issues/{issue.number}",
            "url": f"{self.url}/repos/{self.owner}/{self.name}/issues/{issue.number}",
            "labels": [{"name": name, "id": i + 1} for i, name in enumerate(issue.labels)],
            "user": {"login": "someone"},
        }

    def _issue_values_of_pull(self, pull: Pull) -> dict[str, Any]:
        repo = f"/repos/{self.owner}/{self.name}"
        return {
            "number": pull.number,
            "id": pull.number,
            "title": pull.title,
            "body": pull.body,
            "state": pull.state,
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{pull.number}",
            "url": f"{self.url}{repo}/issues/{pull.number}",
            "labels": [{"name": name, "id": i + 1} for i, name in enumerate(pull.labels)],
            "user": {"login": "mlops-ci"},
            "pull_request": {
                "url": f"{self.url}{repo}/pulls/{pull.number}",
                "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{pull.number}",
                "diff_url": None,
                "patch_url": None,
            },
        }

    def _pull(self, pull: Pull, method: str = "GET", status: int = 200) -> Any:
        """The pull request as the answer of ``method`` on its path (their schemas differ)."""
        path = f"/repos/{self.owner}/{self.name}/pulls"
        if method != "POST":
            path += f"/{pull.number}"
        return schema.filled(method, path, status, self._pull_values(pull), self._links)

    def _pull_values(self, pull: Pull) -> dict[str, Any]:
        repo = {**self._repo_values(), "id": 1}
        return {
            "number": pull.number,
            "id": pull.number,
            "title": pull.title,
            "body": pull.body,
            "state": pull.state,
            "merged": pull.merged,
            "merge_commit_sha": pull.merge_commit_sha,
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{pull.number}",
            "url": f"{self.url}/repos/{self.owner}/{self.name}/pulls/{pull.number}",
            "issue_url": f"{self.url}/repos/{self.owner}/{self.name}/issues/{pull.number}",
            "head": {
                "ref": pull.head,
                "sha": pull.head_sha,
                "label": f"{self.owner}:{pull.head}",
                "repo": repo,
            },
            "base": {
                "ref": pull.base,
                "sha": self._ref(pull.base) or "",
                "label": f"{self.owner}:{pull.base}",
                "repo": repo,
            },
            "labels": [{"name": name, "id": i + 1} for i, name in enumerate(pull.labels)],
            "requested_reviewers": [{"login": r} for r in pull.reviewers],
            "user": {"login": "mlops-ci"},
        }

    @property
    def _links(self) -> str:
        return f"{self.url}/repos/{self.owner}/{self.name}/links"

    def _number(self) -> int:
        number = self._next
        self._next += 1
        return number

    # -- git ----------------------------------------------------------------------------

    def _ref(self, branch: str) -> str | None:
        done = subprocess.run(
            ["git", "-C", str(self.bare), "rev-parse", "--verify", "--quiet",
             f"refs/heads/{branch}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout.strip() or None

    def _git_merge(self, pull: Pull, title: str) -> str:
        """A merge commit of the head into the base, as GitHub's merge button makes."""
        head = self._ref(pull.head)
        if head is None:
            raise _Answer(422, {"message": "Head branch was deleted"})
        with tempfile.TemporaryDirectory(prefix="fake-github-merge-") as folder:

            def git(*arguments: str) -> str:
                return subprocess.run(
                    ["git", "-C", folder, "-c", "user.name=GitHub",
                     "-c", "user.email=noreply@github.example", *arguments],
                    capture_output=True, text=True, check=True,
                ).stdout.strip()  # fmt: skip

            subprocess.run(
                ["git", "clone", "-q", "-b", pull.base, str(self.bare), folder], check=True
            )
            git("merge", "--no-ff", "-q", "-m", f"{title} (#{pull.number})", head)
            git("push", "-q", "origin", f"HEAD:refs/heads/{pull.base}")
            return git("rev-parse", "HEAD")


class _Answer(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _moment(text: str) -> datetime:
    """An ISO 8601 time as GitHub reads one: with its offset, or UTC without."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
