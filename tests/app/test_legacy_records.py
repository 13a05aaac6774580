"""Records an earlier mlops-ci kept as files in .mlops-ci/records are moved into git on
the first command, with what MLflow had of them, and nothing is lost."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from mlops_ci.adapters.records import RecordStore
from mlops_ci.app.legacy_records import IMPORTED
from tests.adapters.test_records import record
from tests.conftest import ENVIRON, CliRunner, commit, git, records_of


def test_records_kept_as_files_are_moved_into_git_once(
    cli: CliRunner, shipped_example: Path
) -> None:
    commit(shipped_example, "feat: the churn model")
    model = "churn-classifier"
    old = shipped_example / ".mlops-ci" / "records"
    files = RecordStore(old)
    built = replace(record(), model=model)
    tested = replace(record("test", state="tested"), model=model).synced_as("run-7")
    files.write(built)
    files.write(tested)
    (old / "broken").mkdir()
    (old / "broken" / "1.0.0").mkdir()
    (old / "broken" / "1.0.0" / "build.json").write_text("{not json")

    shown = cli("version", "history", "--json", "-f", str(shipped_example / "mlops.yaml"))
    assert shown.status == 0, shown.err
    assert "moved 2 records from" in shown.err
    assert "not moved into git" in shown.err
    assert "broken" in shown.err
    states = {v["version"]: v["state"] for v in json.loads(shown.out)["versions"]}
    assert states["1.44.0-rc.1"] == "tested"
    # in git now, with MLflow's run kept in this machine's ledger, not in git
    assert "churn-classifier/records.json" in git(
        shipped_example, "ls-tree", "-r", "--name-only", "refs/mlops-ci/records"
    )
    moved = records_of(shipped_example).read(model, "1.44.0-rc.1", "test")
    assert moved is not None
    assert (moved.synced, moved.mlflow_run_id) == (True, "run-7")
    # the old folder is kept under another name (the unreadable file still in it)
    assert not old.exists()
    assert (shipped_example / ".mlops-ci" / IMPORTED / "broken" / "1.0.0" / "build.json").exists()
    again = cli("version", "history", "-f", str(shipped_example / "mlops.yaml"), environ=ENVIRON)
    assert again.status == 0, again.err
    assert "moved" not in again.err
