"""The record store in git: a real bare origin and clones of it, written at once."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mlops_ci.adapters.git_objects import GitObjects
from mlops_ci.adapters.git_records import (
    RECORDS_REF,
    GitRecordStore,
    RecordsPushError,
    RecordStoreError,
)
from mlops_ci.core.observations import Observation
from mlops_ci.errors import ServiceError
from tests.adapters.test_records import SCHEMA, WHEN, record
from tests.conftest import commit, git


def store_of(
    clone: Path, *, push: bool = True, remote: str | None = "origin", backoff: bool = False
) -> GitRecordStore:
    return GitRecordStore(
        GitObjects(clone),
        remote=remote,
        push=push,
        ledger=clone / ".mlops-ci" / "ledger.json",
        sleep=time.sleep if backoff else lambda seconds: None,
    )


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin with one commit on main."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    commit(seed, "initial", touch="README.md")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


def clone(origin: Path, name: str) -> Path:
    folder = origin.parent / name
    subprocess.run(["git", "clone", "-q", str(origin), str(folder)], check=True)
    return folder


def commits_of(folder: Path) -> int:
    return int(git(folder, "rev-list", "--count", RECORDS_REF).strip())


def test_a_record_round_trips_through_git_and_matches_the_schema(origin: Path) -> None:
    a = clone(origin, "a")
    store = store_of(a)
    store.write(record())
    store.write(record("test", state="tested", finished_at=WHEN + timedelta(minutes=1)))
    assert store.read("churn", "1.44.0-rc.1", "build") == record()
    assert store.read("churn", "1.44.0-rc.1", "validate") is None
    assert [r.stage for r in store.records("churn")] == ["build", "test"]
    assert list(store.records("other")) == []
    listed = git(origin, "ls-tree", "-r", "--name-only", RECORDS_REF).split()
    assert listed == ["churn/records.json"]  # a file per model, a record a line
    text = git(origin, "show", f"{RECORDS_REF}:churn/records.json")
    assert len(text.splitlines()) == 4  # [ two records ]
    for each in json.loads(text):
        Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(each)
    # the work tree, the index and HEAD are not touched
    assert git(a, "status", "--porcelain") == ""
    assert git(a, "log", "--format=%s", "main").strip() == "initial"


def test_writing_the_same_record_again_makes_no_commit(origin: Path) -> None:
    a = clone(origin, "a")
    store = store_of(a)
    store.write(record())
    store.write(record())
    store_of(a).write(record())  # another process, the same record
    assert commits_of(a) == 1
    assert commits_of(origin) == 1


def test_a_fresh_clone_reads_what_another_pushed(origin: Path) -> None:
    store_of(clone(origin, "a")).write(record())
    fresh = clone(origin, "b")  # a plain clone does not fetch refs/mlops-ci/*
    assert git(fresh, "for-each-ref", "refs/mlops-ci") == ""
    assert list(store_of(fresh).records("churn")) == [record()]


def test_without_push_records_stay_in_the_clone(origin: Path) -> None:
    a = clone(origin, "a")
    store_of(a, push=False).write(record())
    assert git(origin, "for-each-ref", "refs/mlops-ci") == ""
    store_of(a).share()
    assert commits_of(origin) == 1


def test_a_push_refused_because_another_pushed_first_is_merged(origin: Path) -> None:
    a, b = clone(origin, "a"), clone(origin, "b")
    first, second = store_of(a), store_of(b)
    first.records("churn")  # both fetched before either wrote
    list(second.records("churn"))
    first.write(record())
    second.write(record("test", state="tested"))
    both = sorted(r.stage for r in store_of(clone(origin, "c")).records("churn"))
    assert both == ["build", "test"]
    parents = git(origin, "rev-list", "--parents", "-n", "1", RECORDS_REF).split()
    assert len(parents) == 3  # a merge of the two writers' commits


def test_where_both_wrote_one_record_the_later_one_wins(origin: Path) -> None:
    a, b = clone(origin, "a"), clone(origin, "b")
    early = record(verdict="failed", state="failed")
    late = record(finished_at=WHEN + timedelta(minutes=5))
    store_of(a, push=False).write(late)
    store_of(b).write(early)
    store_of(a).share()  # refused, merged, pushed
    for folder in (a, clone(origin, "c")):
        assert store_of(folder).read("churn", "1.44.0-rc.1", "build") == late


def _writer(folder: str, worker: int, count: int) -> None:
    store = store_of(Path(folder), backoff=True)
    for index in range(count):
        store.write(record(version=f"1.44.{worker}-rc.{index + 1}"))


def test_two_clones_recording_at_once_lose_nothing(origin: Path) -> None:
    folders = [clone(origin, name) for name in ("a", "b")]
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_writer, args=(str(folder), worker, 12))
        for worker, folder in enumerate(folders)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    found = {r.version for r in store_of(clone(origin, "c")).records("churn")}
    assert found == {f"1.44.{w}-rc.{i + 1}" for w in (0, 1) for i in range(12)}


def test_two_processes_on_one_clone_lose_nothing(origin: Path) -> None:
    a = clone(origin, "a")
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(str(a), w, 15)) for w in (0, 1)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert len(list(store_of(a, remote=None).records("churn"))) == 30


def test_synced_marks_stay_on_this_machine(origin: Path) -> None:
    a = clone(origin, "a")
    store = store_of(a)
    store.write(record())
    store.mark_synced(record(), "run-1")
    read = store.read("churn", "1.44.0-rc.1", "build")
    assert read is not None
    assert (read.mlflow_run_id, read.synced) == ("run-1", True)
    assert "run-1" not in git(origin, "show", f"{RECORDS_REF}:churn/records.json")
    # a record written again (the stage ran again) is not synced until MLflow has it
    store.write(record(finished_at=WHEN + timedelta(hours=1)))
    again = store.read("churn", "1.44.0-rc.1", "build")
    assert again is not None
    assert not again.synced
    assert not next(iter(store_of(clone(origin, "b")).records("churn"))).synced


def test_a_push_without_permission_says_what_to_do(origin: Path) -> None:
    a = clone(origin, "a")
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'permission denied to github-actions[bot]' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(RecordsPushError, match=r"give the job `contents: write`"):
        store_of(a).write(record())
    # the record is kept in the clone, for a push later
    assert store_of(a, remote=None).read("churn", "1.44.0-rc.1", "build") == record()


def test_an_unreachable_remote_is_a_service_failure(origin: Path, tmp_path: Path) -> None:
    a = clone(origin, "a")
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(ServiceError, match=r"could not fetch the records from origin.*FETCH"):
        list(store_of(a).records("churn"))


def test_off_line_outside_ci_the_clone_s_own_records_are_read(
    origin: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = clone(origin, "a")
    store_of(a).write(record())
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    lenient = GitRecordStore(
        GitObjects(a), remote="origin", push=False, strict=False, ledger=a / "ledger.json"
    )
    assert list(lenient.records("churn")) == [record()]
    assert "could not fetch the records from origin" in caplog.text


def put(clone: Path, files: dict[str, bytes]) -> None:
    """Writes files into the records' ref as another tool (or an older mlops-ci) would."""
    objects = GitObjects(clone)
    base = objects.resolve(RECORDS_REF)
    tree = objects.tree_with(base, {p: objects.write_blob(d) for p, d in files.items()})
    made = objects.write_commit(tree, [base] if base else [], "x", ("t", "t@x"))
    assert objects.move_ref(RECORDS_REF, made, base, "x")


def test_a_record_that_is_not_one_is_named(origin: Path) -> None:
    a = clone(origin, "a")
    store_of(a, push=False).write(record())
    put(a, {"churn/records.json": b'[{"schema": "something else"}]'})
    with pytest.raises(RecordStoreError, match=r"not a readable record"):
        list(store_of(a, remote=None).records("churn"))


def test_a_record_filed_under_another_model_is_refused(origin: Path) -> None:
    a = clone(origin, "a")
    store_of(a, push=False).write(record())
    text = git(a, "show", f"{RECORDS_REF}:churn/records.json").encode()
    put(a, {"fraud/records.json": text})
    with pytest.raises(RecordStoreError, match=r"fraud/records.json holds a record of 'churn'"):
        list(store_of(a, remote=None).records("fraud"))


def test_records_an_earlier_mlops_ci_wrote_a_file_each_are_read_and_folded_in(
    origin: Path,
) -> None:
    a = clone(origin, "a")
    old = record()
    put(a, {"churn/1.44.0-rc.1/build.json": json.dumps(old.to_json()).encode()})
    store = store_of(a, remote=None)
    assert list(store.records("churn")) == [old]
    newer = record("test", state="tested", finished_at=WHEN + timedelta(minutes=1))
    store.write(newer)
    assert git(a, "ls-tree", "-r", "--name-only", RECORDS_REF).split() == ["churn/records.json"]
    assert list(store_of(a, remote=None).records("churn")) == [old, newer]


def test_observations_are_kept_in_git_newest_first_and_merged(origin: Path) -> None:
    a, b = clone(origin, "a"), clone(origin, "b")
    seen = [observation(WHEN + timedelta(minutes=m), latency=0.1 * m) for m in range(3)]
    store_of(a).add_observation(seen[0])
    store_of(b).add_observation(seen[1])  # b has not fetched a's: merged on its push
    store_of(a).add_observation(seen[2])
    fresh = store_of(clone(origin, "c"))
    assert fresh.observations("churn", 10) == seen[::-1]
    assert fresh.observations("churn", 2) == seen[:0:-1]
    assert fresh.observations("fraud", 10) == []
    assert fresh.observations("churn", 0) == []


def test_only_the_latest_observations_are_kept(
    origin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlops_ci.adapters.git_records.OBSERVATIONS_KEPT", 2)
    a = clone(origin, "a")
    store = store_of(a, push=False)
    for minute in range(3):
        store.add_observation(observation(WHEN + timedelta(minutes=minute), latency=1.0))
    assert [o.at for o in store.observations("churn", 10)] == [
        WHEN + timedelta(minutes=2),
        WHEN + timedelta(minutes=1),
    ]


def test_observations_that_are_not_readable_are_named(origin: Path) -> None:
    a = clone(origin, "a")
    put(a, {"churn/observations.json": b'[{"at": "yesterday"}]'})
    with pytest.raises(RecordStoreError, match=r"churn/observations.json\) is not readable"):
        store_of(a, remote=None).observations("churn", 5)


def observation(at: datetime, *, latency: float) -> Observation:
    return Observation("churn", "1.43.0", at, {"latency_p95": latency}, {})


@pytest.mark.parametrize("bad", ["../../etc", "..", "a/b", ""])
def test_names_cannot_leave_their_folder(origin: Path, bad: str) -> None:
    with pytest.raises(RecordStoreError, match="cannot name a record"):
        store_of(clone(origin, "a")).check_names("churn", bad, "build")


def test_a_folder_git_will_not_read_holds_no_records(tmp_path: Path) -> None:
    objects = GitObjects(tmp_path)  # not a repository: git's reader stops at once
    assert objects.resolve(RECORDS_REF) is None
    assert objects.resolve(RECORDS_REF) is None  # and again, with a new reader
    objects.close()
