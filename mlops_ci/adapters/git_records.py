"""The record store in git: the ref ``refs/mlops-ci/records``, a commit history of its own
beside the branches, whose tree holds a folder per model: ``<model>/records.json`` (every
record of the model, one a line) and ``<model>/observations.json`` (what ``monitor`` saw).

Why a ref of our own and not git notes on the candidates' commits, and a file per model
rather than per record (benchmarks/state_in_git.py measures all three): a record belongs to
a (model, version, stage), not to a commit (a publish record sits on a merge commit, an
expiry on none), so notes would have to be read whole and filtered; and git reads, writes
and merges a hundred files far faster than thirty thousand (one blob and one small tree per
write instead of rewriting an index of every record). Writes are compare-and-swap on the
ref; the remote's copy is fetched before the first read and merged in, record by record (a
(model, version, stage) both sides wrote keeps the record that finished last), and a push
refused because another job pushed first is merged and pushed again, so parallel jobs lose
nothing.

Which records MLflow has seen is this machine's business, not the repository's: the run ids
live in a ledger beside the state folder, never in git (a write to MLflow would otherwise
be a second commit and push).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from mlops_ci.adapters.git import GitError
from mlops_ci.adapters.git_objects import GitObjects
from mlops_ci.core.observations import Observation, metric_key
from mlops_ci.core.records import RecordFormatError, StageRecord, record_from_json
from mlops_ci.errors import ExitStatus, MlopsCiError, ServiceError
from mlops_ci.files.atomic import write_atomically
from mlops_ci.files.locks import held_lock

log = logging.getLogger(__name__)

RECORDS_REF = "refs/mlops-ci/records"
IDENTITY = ("mlops-ci", "mlops-ci@localhost")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_ATTEMPTS = 10
_RECORDS = "records.json"
_OBSERVATIONS = "observations.json"
_FILES = (_RECORDS, _OBSERVATIONS)
_TOLD = "told"  # an observation's mark in the ledger (records keep their run id)
# Enough for the sudden-change window and a dashboard's charts; MLflow, when configured,
# keeps every one.
OBSERVATIONS_KEPT = 2000


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
        self._listing: tuple[str, dict[str, dict[str, str]]] | None = None
        self._parsed: dict[str, dict[str, StageRecord]] = {}  # blob → records by key
        self._observed: dict[str, list[Observation]] = {}  # blob → observations

    # -- the port --------------------------------------------------------------------

    def check_names(self, model: str, version: str, stage: str) -> None:
        """Refuses names that could not name a record file."""
        self._path(model, version, stage)

    def write(self, record: StageRecord) -> None:
        self.write_all([record])

    def write_all(self, records: Sequence[StageRecord]) -> None:
        """The records in one commit (then pushed, with ``push``); those already there as
        they are cost nothing."""
        by_model: dict[str, dict[str, StageRecord]] = {}
        for record in records:
            self._path(record.model, record.version, record.stage)
            by_model.setdefault(record.model, {})[_key(record)] = _plain(record)
        first = records[0] if records else None
        message = (
            f"{first.model} {first.version} {first.stage}: {first.verdict}"
            if first is not None and len(records) == 1
            else f"{len(records)} records"
        )

        def changes(listing: Mapping[str, Mapping[str, str]]) -> dict[str, str | None]:
            made: dict[str, str | None] = {}
            for model, mine in by_model.items():
                files = listing.get(model, {})
                current = self._model_records(model, files)
                legacy = [name for name in files if name not in _FILES]
                if not legacy and all(current.get(k) == r for k, r in mine.items()):
                    continue  # all there already
                made.update(_records_file(model, {**current, **mine}, self.objects, legacy))
            return made

        if self._commit(changes, message) and self.push:
            self.share()

    def read(self, model: str, version: str, stage: str) -> StageRecord | None:
        path = self._path(model, version, stage)
        return next((r for p, r in self._records(model) if p == path), None)

    def records(self, model: str) -> Iterator[StageRecord]:
        """Every record of ``model``, ordered by version and stage; an unreadable one
        raises."""
        self._path(model, "0", "stage")
        for _, record in self._records(model):
            yield record

    def mark_synced(self, record: StageRecord, run_id: str) -> None:
        """Remembers that MLflow holds ``record`` as run ``run_id`` (on this machine)."""
        path = self._path(record.model, record.version, record.stage)
        with self._ledger_locked():
            ledger = self._ledger()
            ledger[path] = {record.finished_at.isoformat(): run_id}
            self._write_ledger(ledger)

    def add_observation(self, observation: Observation) -> None:
        """One ``monitor`` run's observation of the model in production (the latest
        OBSERVATIONS_KEPT of each model are kept)."""
        model = observation.model
        self._path(model, "0", "stage")

        def changes(listing: Mapping[str, Mapping[str, str]]) -> dict[str, str | None]:
            kept = self._model_observations(model, listing.get(model, {}))
            data = _observations_blob([*kept, observation])
            return {f"{model}/{_OBSERVATIONS}": self.objects.write_blob(data)}

        message = f"{model} {observation.version} observed in production"
        if self._commit(changes, message) and self.push:
            self.share()

    def observations(self, model: str, limit: int) -> list[Observation]:
        """The latest ``limit`` observations of ``model`` in production, newest first."""
        self._path(model, "0", "stage")
        self._fetch_once()
        head = self.objects.resolve(RECORDS_REF)
        if head is None or limit <= 0:
            return []
        kept = self._model_observations(model, self._listed(head).get(model, {}))
        return kept[::-1][:limit]

    def unsynced_observations(self, model: str) -> list[Observation]:
        """The observations of ``model`` git keeps that MLflow was not told of from this
        machine (as far as its ledger knows), oldest first."""
        kept = self.observations(model, OBSERVATIONS_KEPT)
        told = self._ledger().get(f"{model}/{_OBSERVATIONS}", {}) if kept else {}
        return [o for o in reversed(kept) if o.at.isoformat() not in told]

    def mark_observations_synced(self, model: str, moments: Iterable[datetime]) -> None:
        """Remembers that MLflow holds the observations of ``model`` made at ``moments``;
        the moments git no longer keeps are forgotten."""
        path = f"{model}/{_OBSERVATIONS}"
        kept = {o.at.isoformat() for o in self.observations(model, OBSERVATIONS_KEPT)}
        with self._ledger_locked():
            ledger = self._ledger()
            told = {at: run for at, run in ledger.get(path, {}).items() if at in kept}
            told.update((at.isoformat(), _TOLD) for at in moments)
            ledger[path] = told
            self._write_ledger(ledger)

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

    def _commit(
        self,
        changes: Callable[[Mapping[str, Mapping[str, str]]], dict[str, str | None]],
        message: str,
    ) -> bool:
        """Moves the ref to a commit of ``changes`` (made from the ref as it is, again if
        another process moved it meanwhile); False when there was nothing to change."""
        self._fetch_once()
        for _ in range(_ATTEMPTS * 4):
            base = self.objects.resolve(RECORDS_REF)
            listing = self._listed(base) if base is not None else {}
            made = changes(listing)
            if not made:
                return False
            tree = self.objects.tree_with(base, made)
            commit = self.objects.write_commit(tree, [base] if base else [], message, IDENTITY)
            if self.objects.move_ref(RECORDS_REF, commit, base, f"mlops-ci: {message}"):
                # Our own write: its listing is known without asking git again.
                self._listing = (commit, _with_changes(listing, made))
                return True
            # Another process on this clone wrote first: write on top of its commit.
        raise RecordStoreError(  # pragma: no cover - a hundred local writers at once
            f"{RECORDS_REF} kept moving; could not write the records"
        )

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
        """Both sides' records: one only one side has is kept; where both wrote the same
        (model, version, stage), the record that finished last wins. Observations: both
        sides', the latest kept."""
        models = {path.split("/")[0] for path, _, _ in self.objects.changed_blobs(ours, theirs)}
        our_listing, their_listing = self._listed(ours), self._listed(theirs)
        changes: dict[str, str | None] = {}
        for model in sorted(models):
            self._path(model, "0", "stage")
            mine, other = our_listing.get(model, {}), their_listing.get(model, {})
            merged = self._model_records(model, mine)
            for key, record in self._model_records(model, other).items():
                if key not in merged or _later(record, merged[key]):
                    merged[key] = record
            legacy = sorted({name for name in (*mine, *other) if name not in _FILES})
            changes.update(_records_file(model, merged, self.objects, legacy))
            seen = [*self._model_observations(model, mine), *self._model_observations(model, other)]
            if seen:
                data = _observations_blob(seen)
                changes[f"{model}/{_OBSERVATIONS}"] = self.objects.write_blob(data)
        tree = self.objects.tree_with(ours, changes)
        return self.objects.write_commit(
            tree, [ours, theirs], "Merge the remote's records", IDENTITY
        )

    def _records(self, model: str) -> list[tuple[str, StageRecord]]:
        """``model``'s records by path (as the ledger names them), parsed once per blob."""
        self._fetch_once()
        head = self.objects.resolve(RECORDS_REF)
        if head is None:
            return []
        mine = self._model_records(model, self._listed(head).get(model, {}))
        synced = self._ledger() if mine else {}
        found = []
        for key in sorted(mine):
            record = mine[key]
            path = f"{model}/{key}.json"
            run_id = synced[path].get(record.finished_at.isoformat()) if path in synced else None
            found.append((path, record.synced_as(run_id) if run_id else record))
        return found

    def _model_records(self, model: str, files: Mapping[str, str]) -> dict[str, StageRecord]:
        """The records in one model's folder (``records.json``, and the one file per
        record an earlier mlops-ci wrote), by ``version/stage``."""
        wanted = {name: blob for name, blob in files.items() if name != _OBSERVATIONS}
        missing = [b for b in wanted.values() if b not in self._parsed]
        with _no_cycle_collection():
            for blob, data in self.objects.read_blobs(missing).items():
                names = [n for n, b in wanted.items() if b == blob]
                self._parsed[blob] = _parse_records(data, blob, many=_RECORDS in names)
        found: dict[str, StageRecord] = {}
        for name in sorted(wanted):
            for key, record in self._parsed[wanted[name]].items():
                if record.model != model:
                    raise RecordStoreError(
                        f"{RECORDS_REF}: {model}/{name} holds a record of {record.model!r}; "
                        "remove it from the ref"
                    )
                if key not in found or _later(record, found[key]):
                    found[key] = record
        return found

    def _model_observations(self, model: str, files: Mapping[str, str]) -> list[Observation]:
        blob = files.get(_OBSERVATIONS)
        if blob is None:
            return []
        if blob not in self._observed:
            data = self.objects.read_blobs([blob])[blob]
            self._observed[blob] = _parse_observations(data, blob, model)
        return self._observed[blob]

    def _listed(self, head: str) -> dict[str, dict[str, str]]:
        """The files of ``head``'s tree by model folder: model → {name in it → blob}."""
        if self._listing is None or self._listing[0] != head:
            listing: dict[str, dict[str, str]] = {}
            for path, blob in self.objects.blobs_under(head).items():
                model, _, name = path.partition("/")
                if name:
                    listing.setdefault(model, {})[name] = blob
            self._listing = (head, listing)
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

    def _write_ledger(self, ledger: Mapping[str, Mapping[str, str]]) -> None:
        write_atomically(self.ledger, (json.dumps(ledger, sort_keys=True) + "\n").encode())

    def _ledger_locked(self) -> contextlib.AbstractContextManager[None]:
        return held_lock(self.ledger.with_name(self.ledger.name + ".lock"))


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Parsing thousands of records makes hundreds of thousands of objects, and the cycle
    collector would walk them again and again (a quarter of the time); JSON makes no
    cycles, so reference counting alone frees whatever is dropped."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _with_changes(
    listing: Mapping[str, Mapping[str, str]], changes: Mapping[str, str | None]
) -> dict[str, dict[str, str]]:
    """``listing`` (model → name in its folder → blob) after ``changes`` (path → blob, or
    None for a file or folder removed)."""
    updated = {model: dict(files) for model, files in listing.items()}
    for path, blob in changes.items():
        model, _, name = path.partition("/")
        files = updated.setdefault(model, {})
        if blob is not None:
            files[name] = blob
            continue
        for gone in [n for n in files if n == name or n.startswith(name + "/")]:
            del files[gone]
    return {model: files for model, files in updated.items() if files}


def _key(record: StageRecord) -> str:
    return f"{record.version}/{record.stage}"


def _plain(record: StageRecord) -> StageRecord:
    """The record as git keeps it: without what MLflow made of it."""
    return replace(record, mlflow_run_id=None, synced=False)


def _records_file(
    model: str, records: Mapping[str, StageRecord], objects: GitObjects, legacy: Sequence[str]
) -> dict[str, str | None]:
    """The changes that make ``records`` the model's ``records.json`` (a JSON list, a record
    a line, ordered, so git's diffs read well), the old one-file-per-record layout removed."""
    data = _one_a_line(_plain(records[key]).to_json() for key in sorted(records))
    changes: dict[str, str | None] = {f"{model}/{_RECORDS}": objects.write_blob(data)}
    for name in legacy:
        changes[f"{model}/{name.split('/')[0]}"] = None
    return changes


def _parse_records(data: bytes, blob: str, *, many: bool) -> dict[str, StageRecord]:
    try:
        loaded = json.loads(data)
        items = loaded if many else [loaded]
        if not isinstance(items, list):
            raise RecordFormatError("not a list of records")
        records = [record_from_json(item) for item in items]
    except (ValueError, RecordFormatError) as error:
        raise RecordStoreError(
            f"{RECORDS_REF}: blob {blob[:12]} is not a readable record ({error}); "
            "a newer mlops-ci may have written it"
        ) from None
    return {_key(r): r for r in records}


def _later(first: StageRecord, second: StageRecord) -> bool:
    """Whether ``first`` finished after ``second`` (ties: the larger JSON form, so every
    clone merges alike)."""
    if first.finished_at != second.finished_at:
        return first.finished_at > second.finished_at
    return json.dumps(first.to_json(), sort_keys=True) > json.dumps(
        second.to_json(), sort_keys=True
    )


def _observations_blob(observations: Sequence[Observation]) -> bytes:
    """The latest OBSERVATIONS_KEPT, oldest first, one a line; one per moment."""
    by_moment = {(o.at, o.version): o for o in observations}
    kept = sorted(by_moment.values(), key=lambda o: (o.at, o.version))[-OBSERVATIONS_KEPT:]
    return _one_a_line(
        {
            "version": o.version,
            "at": o.at.isoformat(),
            "metrics": {metric_key(k): v for k, v in sorted(o.metrics.items()) if math.isfinite(v)},
            "breaches": {k: list(v) for k, v in sorted(o.breaches.items())},
        }
        for o in kept
    )


def _one_a_line(items: Iterable[object]) -> bytes:
    """A JSON list with one item a line, keys sorted: what git diffs and merges well."""
    lines = [json.dumps(item, sort_keys=True, separators=(",", ":")) for item in items]
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def _parse_observations(data: bytes, blob: str, model: str) -> list[Observation]:
    try:
        items = json.loads(data)
        if not isinstance(items, list):
            raise ValueError("not a list")
        found = [
            Observation(
                model=model,
                version=str(item["version"]),
                at=datetime.fromisoformat(item["at"]),
                metrics={str(k): float(v) for k, v in item["metrics"].items()},
                breaches={str(k): [str(s) for s in v] for k, v in item["breaches"].items()},
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RecordStoreError(
            f"{RECORDS_REF}: blob {blob[:12]} ({model}/{_OBSERVATIONS}) is not readable "
            f"({error}); a newer mlops-ci may have written it"
        ) from None
    return sorted(found, key=lambda o: (o.at, o.version))
