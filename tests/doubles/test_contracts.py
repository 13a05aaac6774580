"""The doubles behave as their adapters on the steps the use cases take: the same steps on
a real git repository (with a bare origin) and on MemoryVcs, on the record files and on
MemoryRecordStore, give the same answers."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.adapters.git import Git
from mlops_ci.adapters.git_objects import GitObjects
from mlops_ci.adapters.git_records import GitRecordStore
from mlops_ci.adapters.records import RecordStore
from mlops_ci.core.records import StageRecord
from mlops_ci.errors import MlopsCiError
from mlops_ci.ports import RecordStore as RecordStorePort
from mlops_ci.ports import Vcs
from tests.conftest import git
from tests.doubles.store import MemoryRecordStore
from tests.doubles.vcs import MemoryVcs

IDENTITY = ("test", "test@example.com")


def real_repository(tmp_path: Path) -> tuple[Git, Path]:
    work = tmp_path / "work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "config", "user.name", "t")
    git(work, "config", "user.email", "t@example.com")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(work, "remote", "add", "origin", str(bare))
    return Git(work), work


def real_commit(work: Path, message: str, files: dict[str, bytes]) -> str:
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD").strip()


def steps(vcs: Vcs, commit: Any, push_main: Any) -> dict[str, object]:
    """What a use case asks, in order; the answers without the commit ids themselves."""
    first = commit("chore: start", {"mlops.yaml": b"a: 1\n", "src/model.py": b"v1"})
    push_main()
    second = commit("feat: more", {"src/model.py": b"v2"})
    answers: dict[str, object] = {
        "head": vcs.head() == second,
        "is_commit": (vcs.is_commit(first), vcs.is_commit("0" * 40)),
        "changed": vcs.changed_files(first),
        "commits": [c.message for c in vcs.commits(None)],
        "commits in src": [c.message for c in vcs.commits(first, ["src"])],
        "show": (vcs.show(first, "src/model.py"), vcs.show(second, "missing")),
        "manifests": [p.name for p in vcs.tracked_manifests()],
    }
    vcs.create_tag("m@1.0.0", first, "m 1.0.0", IDENTITY)
    answers["tags"] = [(t.name, t.commit == first) for t in vcs.tags()]
    answers["commits since tag"] = [c.message for c in vcs.commits("m@1.0.0")]
    answers["push tag"] = vcs.push_tag("origin", "m@1.0.0")
    answers["remote tag"] = vcs.remote_tag("origin", "m@1.0.0") == first
    base = vcs.fetch("origin", "main")
    made = vcs.commit_files(base, {"deploy.yaml": b"pinned"}, "release", IDENTITY)
    answers["made"] = (vcs.parents(made) == [base], vcs.show(made, "deploy.yaml"))
    answers["head kept"] = vcs.head() == second
    answers["no branch"] = vcs.remote_branch("origin", "release")
    vcs.push_branch("origin", made, "release", expected=None)
    answers["branch"] = vcs.remote_branch("origin", "release") == made
    again = vcs.commit_files(base, {"deploy.yaml": b"pinned"}, "release again", IDENTITY)
    answers["same tree"] = vcs.same_tree(made, again)
    try:
        vcs.push_branch("origin", again, "release", expected=None)
        answers["stale lease"] = "pushed"
    except MlopsCiError:
        answers["stale lease"] = "refused"
    vcs.delete_remote_tag("origin", "m@1.0.0")
    vcs.delete_tag("m@1.0.0")
    answers["tags after"] = (list(vcs.tags()), vcs.remote_tag("origin", "m@1.0.0"))
    return answers


def test_memory_vcs_answers_as_git_does(tmp_path: Path) -> None:
    real, work = real_repository(tmp_path / "real")
    from_git = steps(
        real,
        lambda message, files: real_commit(work, message, files),
        lambda: git(work, "push", "-q", "origin", "HEAD:refs/heads/main"),
    )
    memory = MemoryVcs(tmp_path / "memory")
    from_memory = steps(memory, memory.commit, lambda: memory.push_head("main"))
    assert from_memory == from_git


def record(**changes: Any) -> StageRecord:
    values: dict[str, Any] = {
        "model": "churn",
        "version": "1.0.1-rc.1",
        "stage": "build",
        "verdict": "passed",
        "state": "candidate",
        "started_at": datetime(2026, 1, 1, tzinfo=UTC),
        "finished_at": datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "metrics": {"accuracy": 0.9},
    }
    values.update(changes)
    return StageRecord(**values)


def made_store(kind: str, folder: Path) -> RecordStorePort:
    if kind == "files":
        return RecordStore(folder)
    if kind == "git":
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        return GitRecordStore(
            GitObjects(folder), remote=None, push=False, ledger=folder / "ledger.json"
        )
    return MemoryRecordStore()


@pytest.mark.parametrize("kind", ["files", "git", "memory"])
def test_record_stores_agree(tmp_path: Path, kind: str) -> None:
    store = made_store(kind, tmp_path)
    store.write(record())
    store.write(record(stage="test", state="tested"))
    store.write(record(version="1.0.1-rc.2"))
    assert store.read("churn", "1.0.1-rc.1", "build") == record()
    assert store.read("churn", "1.0.1-rc.9", "build") is None
    store.mark_synced(record(), "run1")
    changed = store.read("churn", "1.0.1-rc.1", "build")
    assert changed is not None
    assert (changed.mlflow_run_id, changed.synced) == ("run1", True)
    found = sorted((r.version, r.stage, r.synced) for r in store.records("churn"))
    assert found == [
        ("1.0.1-rc.1", "build", True),
        ("1.0.1-rc.1", "test", False),
        ("1.0.1-rc.2", "build", False),
    ]
    assert list(store.records("other")) == []
    for bad in ("../x", "a/b", ".hidden"):
        with pytest.raises(MlopsCiError):
            store.check_names("churn", bad, "build")
