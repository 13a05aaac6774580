"""The record store in git: every record a file ``<model>/<version>/<stage>.json`` in the
tree of the ref ``refs/mlops-ci/records``, a commit history of its own beside the branches.

Why a ref of our own and not git notes on the candidate's commit (benchmarks/records.py
measures both): a record belongs to a (model, version, stage), not to a commit (a publish
record sits on a merge commit, an expiry on none), and a model's records are one folder of
the tree, so reading one model costs a listing of that folder, while notes would have to be
read whole and filtered. Writes are compare-and-swap on the ref; the remote's copy is
fetched before the first read and merged in (a union of files: a (model, version, stage)
both sides wrote keeps the record that finished last), and a push refused because another
job pushed first is merged and pushed again, so parallel jobs lose nothing.

Which records MLflow has seen is this machine's business, not the repository's: the run ids
live in a ledger beside the state folder, never in git (a write to MLflow would otherwise
be a second commit and push).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from mlops_ci.adapters.git import GitError
from mlops_ci.adapters.git_objects import GitObjects
from mlops_ci.core.records import RecordFormatError, StageRecord, record_from_json
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.files.atomic import write_atomically

log = logging.getLogger(__name__)

RECORDS_REF = "refs/mlops-ci/records"
IDENTITY = ("mlops-ci", "mlops-ci@localhost")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_ATTEMPTS = 10


class RecordStoreError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


class RecordsPushError(ServiceError):
    """The remote would not take the records (no permission, not reachable)."""


class GitRecordStore:
    """The RecordStore port over ``refs/mlops-ci/records`` of one repository.

    ``remote`` is where records are fetched from before the first read (with ``fetch``)
    and pushed to after each write (with ``push``); None works on this clone alone. A first
    fetch that fails is an error when ``strict``, else a warning.
    """

    def __init__(
        self,
        objects: GitObjects,
        *,
        remote: str | None,
        push: bool,
        ledger: Path,
        fetch: bool = True,
        strict: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.objects = objects
        self.remote = remote
        self.push = push
        self.fetches = fetch
        self.strict = strict
        self.ledger = ledger
        self._sleep = sleep
        self._fetched = False
        self._remote_known: bool | None = None
        self._listing: tuple[str | None, dict[str, str]] | None = None
        self._parsed: dict[str, StageRecord] = {}  # by blob id

    # -- the port --------------------------------------------------------------------

    def check_names(self, model: str, version: str, stage: str) -> None:
        """Refuses names that could not name a record file."""
        self._path(model, version, stage)

    def write(self, record: StageRecord) -> None:
        self.write_all([record])

    def write_all(self, records: Sequence[StageRecord]) -> None:
        """The records in one commit (then pushed, with ``push``); those already there as
        they are cost nothing."""
        self._fetch_once()
        blobs = {
            self._path(r.model, r.version, r.stage): self.objects.write_blob(_canonical(r))
            for r in records
        }
        first = records[0] if records else None
        message = (
            f"{first.model} {first.version} {first.stage}: {first.verdict}"
            if first is not None and len(records) == 1
            else f"{len(records)} records"
        )
        for _ in range(_ATTEMPTS * 4):
            base = self.objects.resolve(RECORDS_REF)
            listed = self._listed(base) if base is not None else {}
            new = {path: blob for path, blob in blobs.items() if listed.get(path) != blob}
            if not new:
                return  # all there already: nothing to write or push
            tree = self.objects.tree_with(base, new)
            commit = self.objects.write_commit(tree, [base] if base else [], message, IDENTITY)
            if self.objects.move_ref(RECORDS_REF, commit, base, f"mlops-ci: {message}"):
                # Our own write: the listing is known without asking git again.
                self._listing = (commit, {**listed, **new})
                break
            # Another process on this clone wrote first: write on top of its commit.
        else:  # pragma: no cover - a hundred local writers at once
            raise RecordStoreError(f"{RECORDS_REF} kept moving; could not write the records")
        if self.push:
            self.share()

    def read(self, model: str, version: str, stage: str) -> StageRecord | None:
        path = self._path(model, version, stage)
        return next((r for p, r in self._records(f"{model}/") if p == path), None)

    def records(self, model: str) -> Iterator[StageRecord]:
        """Every record of ``model``, ordered by path; an unreadable one raises."""
        self._path(model, "0", "stage")
        for _, record in self._records(f"{model}/"):
            yield record

    def mark_synced(self, record: StageRecord, run_id: str) -> None:
        """Remembers that MLflow holds ``record`` as run ``run_id`` (on this machine)."""
        path = self._path(record.model, record.version, record.stage)
        with self._ledger_locked():
            ledger = self._ledger()
            ledger[path] = {record.finished_at.isoformat(): run_id}
            write_atomically(self.ledger, (json.dumps(ledger, sort_keys=True) + "\n").encode())

    # -- sharing ---------------------------------------------------------------------

    def share(self) -> None:
        """Pushes the records to the remote; a refusal because the remote moved on is
        merged and pushed again."""
        if self.remote is None:
            return
        if not self._has_remote():
            log.warning("no remote %r: the records stay in this clone", self.remote)
            return
        for attempt in range(_ATTEMPTS):
            local = self.objects.resolve(RECORDS_REF)
            if local is None:
                return
            pushed = self.objects.push_ref(self.remote, local, RECORDS_REF)
            if pushed.ok:
                return
            if not pushed.behind:
                raise RecordsPushError(
                    f"could not push the records ({RECORDS_REF}) to {self.remote}: "
                    f"{pushed.problem}; give the job `contents: write` (GitHub Actions) or "
                    "set MLOPS_CI_PUSH=false to keep them in this clone"
                )
            self.fetch()
            # Jobs that collide once tend to collide again (a matrix finishing together):
            # back off, with jitter, so they spread out.
            self._sleep(random.uniform(0, 0.2 * 2 ** min(attempt, 5)))  # noqa: S311 - not secret
        raise RecordsPushError(
            f"could not push the records to {self.remote}: it kept moving ({_ATTEMPTS} tries, "
            "the last refused with " + pushed.problem + "); run the command again"
        )

    def fetch(self) -> None:
        """The remote's records merged into this clone's."""
        if self.remote is None or not self._has_remote():
            return
        fetched = f"refs/mlops-ci-fetched/{self.remote}/records"
        try:
            self.objects.fetch_refs(
                self.remote, "refs/mlops-ci/*", f"refs/mlops-ci-fetched/{self.remote}/*"
            )
        except GitError as error:
            raise ServiceError(
                f"could not fetch the records from {self.remote}: {error}; check the remote, or "
                "set MLOPS_CI_FETCH=false to work from this clone's records alone"
            ) from None
        theirs = self.objects.resolve(fetched)
        if theirs is not None:
            self._merge(theirs)

    # -- inside ----------------------------------------------------------------------

    def _has_remote(self) -> bool:
        if self._remote_known is None:
            self._remote_known = self.remote is not None and self.objects.has_remote(self.remote)
        return self._remote_known

    def _fetch_once(self) -> None:
        if not self._fetched and self.fetches:
            self._fetched = True
            try:
                self.fetch()
            except ServiceError as error:
                if self.strict:
                    raise
                # On a laptop offline the clone's own records are still worth reading; in CI
                # (strict) a stale view could pass a gate it should not.
                log.warning("%s", error)

    def _merge(self, theirs: str) -> None:
        for _ in range(_ATTEMPTS * 4):
            ours = self.objects.resolve(RECORDS_REF)
            if ours == theirs or (ours is not None and self.objects.is_ancestor(theirs, ours)):
                return
            if ours is None or self.objects.is_ancestor(ours, theirs):
                new = theirs  # a fast-forward
            else:
                new = self._merge_commit(ours, theirs)
            if self.objects.move_ref(
                RECORDS_REF, new, ours, "mlops-ci: merge the remote's records"
            ):
                return
        raise RecordStoreError(f"{RECORDS_REF} kept moving; could not merge the remote's records")

    def _merge_commit(self, ours: str, theirs: str) -> str:
        """Both sides' records: a file only one side has is kept; where both wrote the same
        (model, version, stage), the record that finished last wins."""
        taken: dict[str, str] = {}
        contested = [
            (path, ours_, theirs_)
            for path, ours_, theirs_ in self.objects.changed_blobs(ours, theirs)
            if theirs_ is not None
        ]
        data = self.objects.read_blobs(
            blob for _, o, t in contested if o is not None for blob in (o, t)
        )
        for path, our_blob, their_blob in contested:
            if our_blob is None or _later(data, their_blob, our_blob):
                taken[path] = their_blob
        tree = self.objects.tree_with(ours, taken) if taken else self.objects.tree_of(ours)
        return self.objects.write_commit(
            tree, [ours, theirs], "Merge the remote's records", IDENTITY
        )

    def _records(self, prefix: str) -> list[tuple[str, StageRecord]]:
        """The records whose paths start with ``prefix``, parsed once per blob."""
        self._fetch_once()
        head = self.objects.resolve(RECORDS_REF)
        if head is None:
            return []
        mine = {p: b for p, b in self._listed(head).items() if p.startswith(prefix)}
        missing = [b for b in mine.values() if b not in self._parsed]
        for blob, data in self.objects.read_blobs(missing).items():
            self._parsed[blob] = _parse(data, blob)
        synced = self._ledger()
        found = []
        for path in sorted(mine):
            record = self._parsed[mine[path]]
            run_id = synced.get(path, {}).get(record.finished_at.isoformat())
            found.append((path, record.synced_as(run_id) if run_id else record))
        return found

    def _listed(self, head: str) -> dict[str, str]:
        if self._listing is None or self._listing[0] != head:
            self._listing = (head, self.objects.blobs_under(head))
        return self._listing[1]

    def _path(self, model: str, version: str, stage: str) -> str:
        for part in (model, version, stage):
            # Names come from manifests and tags: never let one climb out of its folder.
            if not _SAFE_PART.match(part) or ".." in part:
                raise RecordStoreError(f"{part!r} cannot name a record")
        return f"{model}/{version}/{stage}.json"

    def _ledger(self) -> dict[str, dict[str, str]]:
        try:
            loaded = json.loads(self.ledger.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or damaged: MLflow finds its runs again on the next sync
        return loaded if isinstance(loaded, dict) else {}

    @contextlib.contextmanager
    def _ledger_locked(self) -> Iterator[None]:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(self.ledger.with_name(self.ledger.name + ".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _canonical(record: StageRecord) -> bytes:
    """The record as git keeps it: without what MLflow made of it."""
    plain = replace(record, mlflow_run_id=None, synced=False)
    return (json.dumps(plain.to_json(), indent=2, sort_keys=True) + "\n").encode()


def _parse(data: bytes, blob: str) -> StageRecord:
    try:
        return record_from_json(json.loads(data))
    except (ValueError, RecordFormatError) as error:
        raise RecordStoreError(
            f"{RECORDS_REF}: blob {blob[:12]} is not a readable record ({error}); "
            "a newer mlops-ci may have written it"
        ) from None


def _later(data: dict[str, bytes], first: str, second: str) -> bool:
    """Whether record blob ``first`` finished after ``second`` (ties: the larger id, so every
    clone merges alike)."""
    a, b = _parse(data[first], first), _parse(data[second], second)
    return (a.finished_at, first) > (b.finished_at, second)
