"""`mlops-ci version` on real git repositories, records and the embedded MLflow store."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops_ci.core.records import StageRecord
from tests.conftest import EXAMPLE, CliRunner, commit, embedded_tracker, records_of, tag

MODEL = "churn-classifier"


@pytest.fixture
def released(example_copy: Path) -> Path:
    """The example as a repository whose production version 1.43.13 is tagged."""
    commit(example_copy, "feat: the churn model")
    tag(example_copy, f"{MODEL}@1.43.13")
    return example_copy


def next_json(cli: CliRunner, repo: Path, *extra: str) -> dict[str, object]:
    run = cli("version", "next", "--json", "-f", str(repo / "mlops.yaml"), *extra)
    assert run.status == 0, run.err
    answer: dict[str, object] = json.loads(run.out)
    return answer


def test_current(cli: CliRunner, example_copy: Path) -> None:
    commit(example_copy, "initial")
    run = cli("version", "current", "-f", str(example_copy / "mlops.yaml"))
    assert (run.status, run.out) == (0, f"{MODEL} 1.43.13 (no tag {MODEL}@1.43.13 yet)\n")
    tag(example_copy, f"{MODEL}@1.43.13")
    run = cli("version", "current", "--json", "-f", str(example_copy / "mlops.yaml"))
    assert json.loads(run.out) == {
        "model": MODEL,
        "version": "1.43.13",
        "tag": f"{MODEL}@1.43.13",
        "tagged": True,
    }


def test_next_is_a_patch_without_conventional_commits(cli: CliRunner, released: Path) -> None:
    commit(released, "tune the threshold", touch="train.py")
    answer = next_json(cli, released)
    assert answer["candidate"] == "1.43.14-rc.1"
    assert answer["level"] == "patch"
    assert answer["tag"] == f"{MODEL}@1.43.14-rc.1"


def test_next_reads_commits_of_the_models_folder_only(cli: CliRunner, repository: Path) -> None:
    model = repository / "models" / "churn"
    shutil.copytree(EXAMPLE, model, ignore=shutil.ignore_patterns("build", ".mlops-ci"))
    commit(repository, "feat: the churn model")
    tag(repository, f"{MODEL}@1.43.13")
    sha = commit(repository, "feat: add a feature", touch="models/churn/train.py")
    commit(repository, "feat!: another model's breaking change", touch="models/other/x.py")
    answer = next_json(cli, model)
    assert answer["candidate"] == "1.44.0-rc.1"
    assert answer["reasons"] == [f"minor: commit {sha[:7]} 'feat: add a feature'"]
    assert [c["sha"] for c in answer["commits"]] == [sha]  # type: ignore[union-attr]


def test_a_removed_input_is_a_major_bump(cli: CliRunner, released: Path) -> None:
    manifest = released / "mlops.yaml"
    manifest.write_text(manifest.read_text().replace("      - {name: region, type: string}\n", ""))
    commit(released, "drop region")
    answer = next_json(cli, released)
    assert answer["candidate"] == "2.0.0-rc.1"
    assert answer["reasons"] == ["major: the signature removed input region"]


def test_candidate_numbers_count_tags_records_and_mlflow(cli: CliRunner, released: Path) -> None:
    commit(released, "fix: one", touch="train.py")
    tag(released, f"{MODEL}@1.43.14-rc.1")
    tag(released, f"{MODEL}@1.43.14-rc.3")
    assert next_json(cli, released)["candidate"] == "1.43.14-rc.4"

    when = datetime(2026, 11, 25, tzinfo=UTC)
    records_of(released).write(
        StageRecord(
            model=MODEL,
            version="1.43.14-rc.5",
            stage="build",
            verdict="passed",
            state="candidate",
            started_at=when,
            finished_at=when,
        )
    )
    assert next_json(cli, released)["candidate"] == "1.43.14-rc.6"

    tracker = embedded_tracker(released)
    tracker.register("1.43.14-rc.9", None, released / "build", [])
    assert next_json(cli, released)["candidate"] == "1.43.14-rc.10"
    assert next_json(cli, released, "--no-tracking")["candidate"] == "1.43.14-rc.6"


def test_history_lists_releases_and_candidates(cli: CliRunner, released: Path) -> None:
    commit(released, "fix: one", touch="train.py")
    tag(released, f"{MODEL}@1.43.14-rc.1")
    run = cli("version", "history", "--json", "-f", str(released / "mlops.yaml"))
    versions = json.loads(run.out)["versions"]
    assert [(v["version"], v["state"]) for v in versions] == [
        ("1.43.14-rc.1", "candidate"),
        ("1.43.13", "released"),
    ]
    assert versions[0]["tag"] == f"{MODEL}@1.43.14-rc.1"
    assert len(versions[0]["commit"]) == 40
    table = cli("version", "history", "-f", str(released / "mlops.yaml")).out.splitlines()
    assert table[0].split() == ["VERSION", "STATE", "DATE", "COMMIT", "IMAGE"]
    assert table[1].split()[:2] == ["1.43.14-rc.1", "candidate"]


def test_outside_a_git_repository_is_a_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text(
        "apiVersion: mlops-ci/v1\nmodel: {name: churn, version: 1.0.0}\n"
    )
    run = cli("version", "current", "-f", str(tmp_path / "mlops.yaml"))
    assert run.status == 2
    assert run.err.startswith("mlops-ci: git for-each-ref failed in ")
    assert "not a git repository" in run.err
