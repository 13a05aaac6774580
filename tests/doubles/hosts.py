"""The clock, the command runner and the outside services in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_ci.core.codehost import Issue, PullRequest
from mlops_ci.core.commands import Command, CommandResult
from mlops_ci.errors import ExitStatus, MlopsCiError
from mlops_ci.ports import Meter


class TickingClock:
    """Each reading is one second after the last, so records of one run keep their order."""

    def __init__(self, start: datetime = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


# A command's stand-in: given the placeholders, it does the command's work (writes the
# model, the metrics) and returns its exit code and what it printed.
Script = Callable[[Mapping[str, str]], tuple[int, str]]


@dataclass
class ScriptedRunner:
    """Runs each manifest command as the script registered for it (``build.command`` …)."""

    scripts: dict[str, Script] = field(default_factory=dict)
    ran: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    peak_rss_bytes: int = 64 << 20

    def run(
        self,
        what: str,
        command: Command,
        *,
        placeholders: Mapping[str, str],
        cwd: Path,
        environ: Mapping[str, str],
        log: Path,
        meter: Meter | None = None,
    ) -> CommandResult:
        argv = tuple(argument.format_map(placeholders) for argument in command.argv)
        self.ran.append((what, argv))
        code, output = self.scripts[what](placeholders)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output, encoding="utf-8")
        if meter is not None and output:
            meter.update(None, output.splitlines()[-1])
        tail = "\n".join(output.splitlines()[-15:])
        return CommandResult(argv, code, 0.01, self.peak_rss_bytes, log, tail)


class CodeHostRefused(MlopsCiError):
    exit_status = ExitStatus.SERVICE_FAILED


@dataclass
class MemoryCodeHost:
    """A GitHub repository's pull requests, issues, comments and releases."""

    pulls: dict[int, PullRequest] = field(default_factory=dict)
    issues_made: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, list[str]] = field(default_factory=dict)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviewers: dict[int, list[str]] = field(default_factory=dict)
    writes: int = 0

    def _number(self) -> int:
        return len(self.pulls) + len(self.issues_made) + 1

    def open_pull(self, head: str, base: str) -> PullRequest | None:
        return next(
            (p for p in self.pulls.values() if (p.head, p.base, p.state) == (head, base, "open")),
            None,
        )

    def create_pull(self, title: str, body: str, head: str, base: str) -> PullRequest:
        if self.open_pull(head, base) is not None:
            raise CodeHostRefused(f"a pull request for {head} exists")
        self.writes += 1
        number = self._number()
        url = f"https://github.example/pull/{number}"
        pull = PullRequest(number, url, title, body, head, base, "open", False, None, ())
        self.pulls[number] = pull
        return pull

    def update_pull(self, number: int, title: str, body: str) -> None:
        self.writes += 1
        self.pulls[number] = replace(self.pulls[number], title=title, body=body)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self.writes += 1
        if number in self.pulls:
            pull = self.pulls[number]
            merged = tuple(dict.fromkeys([*pull.labels, *labels]))
            self.pulls[number] = replace(pull, labels=merged)

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        self.writes += 1
        self.reviewers.setdefault(number, []).extend(reviewers)

    def merge(self, number: int, merge_commit: str) -> None:
        """A test's helper: the pull request merged as ``merge_commit``."""
        self.pulls[number] = replace(
            self.pulls[number], state="closed", merged=True, merge_commit_sha=merge_commit
        )

    def pulls_of_commit(self, sha: str) -> list[PullRequest]:
        return [p for p in self.pulls.values() if p.merge_commit_sha == sha]

    def upsert_comment(self, number: int, marker: str, body: str) -> tuple[str, bool]:
        found = self.comments.setdefault(number, [])
        url = f"https://github.example/pull/{number}#comment"
        for index, existing in enumerate(found):
            if marker in existing:
                if existing == body:
                    return url, False
                found[index] = body
                self.writes += 1
                return url, True
        found.append(body)
        self.writes += 1
        return url, True

    def issues(self, label: str, state: str = "open", since: datetime | None = None) -> list[Issue]:
        return [
            i
            for i in self.issues_made.values()
            if label in i.labels
            and state in ("all", i.state)
            and (since is None or i.created_at >= since)
        ]

    def open_issue(self, title: str, body: str, labels: Sequence[str], marker: str) -> Issue:
        self.writes += 1
        number = self._number()
        issue = Issue(
            number,
            f"https://github.example/issues/{number}",
            title,
            body,
            "open",
            tuple(labels),
            datetime(2026, 6, 1, tzinfo=UTC),
        )
        self.issues_made[number] = issue
        return issue

    def edit_issue(self, number: int, *, body: str | None = None, close: bool = False) -> None:
        self.writes += 1
        issue = self.issues_made[number]
        self.issues_made[number] = replace(
            issue,
            body=issue.body if body is None else body,
            state="closed" if close else issue.state,
        )

    def comment(self, number: int, body: str) -> None:
        self.writes += 1
        self.comments.setdefault(number, []).append(body)

    def create_release(
        self, tag: str, name: str, body: str, target: str
    ) -> tuple[dict[str, Any], bool]:
        if tag in self.releases:
            return self.releases[tag], False
        self.writes += 1
        made = {
            "id": len(self.releases) + 1,
            "url": f"https://github.example/releases/{tag}",
            "tag": tag,
        }
        self.releases[tag] = {**made, "name": name, "body": body, "target": target}
        return self.releases[tag], True


@dataclass
class MemoryRegistry:
    """One registry: blobs by digest, manifests by repository and tag or digest."""

    registry: str = "registry.example"
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    deletes_allowed: bool = True
    referrers_api: bool = False  # distribution 2.8, the test registry, has none

    def add_image(self, repository: str, tag: str, body: bytes, media_type: str) -> str:
        """A test's helper: an image manifest under ``tag``; its digest."""
        return self.put_manifest(repository, tag, body, media_type)

    def blob_exists(self, repository: str, digest: str) -> bool:
        return digest in self.blobs

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        found = self.manifests.get((repository, reference))
        return _digest(found[0]) if found else None

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        found = self.manifests.get((repository, reference))
        if found is None:
            raise CodeHostRefused(f"{repository}:{reference} is not in the registry")
        return found

    def find_manifest(self, repository: str, reference: str) -> tuple[bytes, str] | None:
        return self.manifests.get((repository, reference))

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> str:
        digest = _digest(body)
        self.manifests[(repository, reference)] = (body, media_type)
        self.manifests[(repository, digest)] = (body, media_type)
        return digest

    def get_blob(self, repository: str, digest: str, sink: Callable[[bytes], None]) -> None:
        sink(self.blobs[digest])

    def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        return digest in self.blobs

    def upload_blob(
        self, repository: str, digest: str, size: int, source: Callable[[int], Iterator[bytes]]
    ) -> None:
        self.blobs[digest] = b"".join(source(0))

    def tags(self, repository: str) -> list[str]:
        return sorted(
            ref
            for repo, ref in self.manifests
            if repo == repository and not ref.startswith("sha256:")
        )

    def delete_manifest(self, repository: str, digest: str) -> bool:
        if not self.deletes_allowed:
            return False
        for key in [
            k
            for k, (body, _) in self.manifests.items()
            if k[0] == repository and _digest(body) == digest
        ]:
            del self.manifests[key]
        return True

    def referrers(self, repository: str, digest: str) -> bytes | None:
        if not self.referrers_api:
            return None
        listed = {}
        for (repo, _), (body, media_type) in self.manifests.items():
            document = json.loads(body)
            if repo == repository and (document.get("subject") or {}).get("digest") == digest:
                listed[_digest(body)] = {
                    "mediaType": media_type,
                    "digest": _digest(body),
                    "size": len(body),
                    "artifactType": document.get("artifactType"),
                }
        return json.dumps({"schemaVersion": 2, "manifests": list(listed.values())}).encode()


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class MemoryEngine:
    """A Docker engine that remembers what it was asked to build, push and load."""

    built: dict[str, bytes] = field(default_factory=dict)
    pushed: list[tuple[str, str]] = field(default_factory=list)
    loaded: list[tuple[str, str]] = field(default_factory=list)

    def build(self, context: Iterator[bytes], tag: str, base: str) -> str:
        data = b"".join(context)
        self.built[tag] = data
        return _digest(data)

    def push(self, repository: str, tag: str) -> str:
        self.pushed.append((repository, tag))
        return _digest(self.built.get(f"{repository}:{tag}", repository.encode()))

    def load(self, archive: Iterable[bytes], name: str, config_digest: str) -> None:
        for _ in archive:  # read it all, as the engine does
            pass
        self.loaded.append((name, config_digest))


@dataclass
class MemoryScraper:
    """Metrics endpoints as texts by URL."""

    pages: dict[str, str] = field(default_factory=dict)

    def scrape(self, url: str, timeout: float) -> str:
        return self.pages[url]


@dataclass
class MemoryCiHost:
    """A CI run's outputs, summary and annotations."""

    in_ci: bool = True
    pull_request: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    annotations: list[tuple[str, str, str, int, int]] = field(default_factory=list)

    def running(self) -> bool:
        return self.in_ci

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        self.outputs.update(outputs)

    def append_summary(self, markdown: str) -> None:
        self.summary.append(markdown)

    def annotate(self, level: str, message: str, *, file: str, line: int, column: int) -> None:
        self.annotations.append((level, message, file, line, column))

    def pull_request_number(self) -> int | None:
        return self.pull_request
