"""Loading good manifests into the typed model: defaults, units, paths, repositories."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path

import pytest

from mlops_ci.core.commands import Command
from mlops_ci.core.settings import Bounds, Regression
from mlops_ci.errors import ManifestError
from mlops_ci.manifest import model as m
from mlops_ci.manifest.loader import find_repository, load_manifest
from mlops_ci.manifest.schema import schema_default
from tests.conftest import EXAMPLE, MINIMAL


def test_example_loads_into_the_typed_model() -> None:
    manifest = load_manifest(EXAMPLE / "mlops.yaml")
    assert manifest.model.name == "churn-classifier"
    assert manifest.model.version == "1.43.13"
    assert manifest.root == EXAMPLE
    assert [d.name for d in manifest.data] == ["train", "holdout"]
    assert manifest.data[0].path == EXAMPLE / "data" / "train.csv"
    assert manifest.data[0].format == "csv"
    assert manifest.data[0].checks.balance == m.BalanceCheck("churned", 0.15, ("region",))
    assert manifest.build is not None
    assert manifest.build.command.argv[:2] == ("python", "train.py")
    assert manifest.build.command.timeout == timedelta(minutes=30)
    assert manifest.test is not None
    assert dict(manifest.test.gates)["log_loss"] == Bounds(max=0.30)
    assert manifest.validate == m.Validate(
        max_size=10 * 1024**2,
        latency=m.Latency(
            Command(("python", "bench.py", "--model", "{artifacts}"), timedelta(minutes=30)),
            p95_ms=25,
        ),
        max_memory=512 * 1024**2,
    )
    assert manifest.release is not None
    production = manifest.release.environments[1]
    assert production.strategy == "blue-green"
    assert [t.kind for t in production.targets] == ["kubernetes", "nomad"]
    assert manifest.retention == m.Retention(keep_last=10, max_age=timedelta(days=30))
    assert manifest.monitor is not None
    assert manifest.monitor.source.file == EXAMPLE / "monitoring" / "metrics.json"


def test_every_example_path_exists() -> None:
    """The example is complete: everything its manifest names is in the repository."""
    manifest = load_manifest(EXAMPLE / "mlops.yaml")
    assert manifest.release is not None
    assert manifest.monitor is not None
    paths = [d.path for d in manifest.data]
    paths += [t.path for e in manifest.release.environments for t in e.targets]
    paths += [manifest.monitor.source.file] if manifest.monitor.source.file else []
    assert paths
    assert all(path.is_file() for path in paths)


def test_minimal_manifest_gets_the_schema_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(MINIMAL)
    manifest = load_manifest(path)
    assert manifest.versioning == m.Versioning("semver", "auto", "{name}@{version}")
    assert manifest.tracking == m.MlflowTracking(
        experiment="churn", registered_model="churn", tracking_uri=None
    )
    assert manifest.retention.keep_last == schema_default("retention", "candidates", "keep_last")
    assert (manifest.data, manifest.build, manifest.test) == ((), None, None)
    assert (manifest.validate, manifest.release, manifest.monitor) == (None, None, None)


def test_dataclass_defaults_agree_with_the_schema() -> None:
    """The model's own defaults (for code that builds one) are the schema's."""

    def default(cls: type, name: str) -> object:
        found = {f.name: f for f in dataclasses.fields(cls)}[name]
        return (
            found.default
            if found.default is not dataclasses.MISSING
            else (
                found.default_factory()  # type: ignore[misc]
            )
        )

    assert default(m.Versioning, "scheme") == schema_default("versioning", "scheme")
    assert default(m.Versioning, "bump") == schema_default("versioning", "bump")
    assert default(m.Versioning, "tag") == schema_default("versioning", "tag")
    assert default(m.Image, "base") == schema_default("release", "image", "base")
    assert default(m.Image, "backend") == schema_default("release", "image", "backend")
    assert default(m.Image, "layer_size") == 1024**3
    assert schema_default("release", "image", "layer_size") == "1GiB"
    assert default(m.PullRequest, "labels") == tuple(
        schema_default("release", "pull_request", "labels")
    )
    assert default(m.Retention, "keep_last") == schema_default(
        "retention", "candidates", "keep_last"
    )
    assert default(Regression, "window") == schema_default("monitor", "regression", "window")
    assert default(Regression, "max_change") == schema_default(
        "monitor", "regression", "max_change"
    )
    assert default(Regression, "min_delta") == schema_default("monitor", "regression", "min_delta")
    assert default(m.MlflowTracking, "tracking_uri") is None  # no default: MLflow is off
    assert default(m.Environment, "strategy") == schema_default(
        "release", "environments", 0, "strategy"
    )


def test_typed_model_is_frozen(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(MINIMAL)
    manifest = load_manifest(path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.model.name = "other"  # type: ignore[misc]


def test_paths_are_checked_against_the_git_repository_not_the_manifest_folder(
    repository: Path,
) -> None:
    """In a monorepo a model may read shared data from a sibling folder."""
    model_folder = repository / "models" / "churn"
    model_folder.mkdir(parents=True)
    (model_folder / "mlops.yaml").write_text(
        MINIMAL + "data:\n  - {name: shared, path: ../../shared/train.csv}\n"
        "  - {name: outside, path: ../../../train.csv}\n"
    )
    assert find_repository(model_folder) == repository
    with pytest.raises(ManifestError) as raised:
        load_manifest(model_folder / "mlops.yaml")
    assert [issue.path for issue in raised.value.issues] == ["data[1].path"]


def test_a_link_that_leads_out_of_the_repository_is_refused(
    repository: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    os.symlink(outside, repository / "train.csv")
    (repository / "mlops.yaml").write_text(MINIMAL + "data:\n  - {name: train, path: train.csv}\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(repository / "mlops.yaml")
    assert raised.value.issues[0].message == (
        "data[0].path 'train.csv' is a link that leads out of the repository; point it inside"
    )


def test_outside_a_repository_the_manifest_folder_bounds_paths(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    assert find_repository(folder) == folder


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/train.csv.gz", "csv"),
        ("x.parquet", "parquet"),
        ("x.pq", "parquet"),
        ("x.JSONL", "jsonl"),
        ("x.ndjson.gz", "jsonl"),
    ],
)
def test_data_format_comes_from_the_extension(tmp_path: Path, path: str, expected: str) -> None:
    manifest_path = tmp_path / "mlops.yaml"
    manifest_path.write_text(MINIMAL + f"data:\n  - {{name: d, path: {path}}}\n")
    assert load_manifest(manifest_path).data[0].format == expected


def test_declared_format_wins_and_commands_may_be_lists(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(
        MINIMAL + "data:\n  - {name: d, path: dump.txt, format: jsonl}\n"
        "build:\n  command: [python, train.py, --name, 'a b']\n  artifacts: out\n"
    )
    manifest = load_manifest(path)
    assert manifest.data[0].format == "jsonl"
    assert manifest.build is not None
    assert manifest.build.command.argv == ("python", "train.py", "--name", "a b")


def test_calver_manifest_loads(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(MINIMAL.replace("1.0.0", "2026.11.25.2") + "versioning: {scheme: calver}\n")
    assert load_manifest(path).versioning.scheme == "calver"


def test_whole_numbers_written_with_a_point_are_whole_numbers(tmp_path: Path) -> None:
    """JSON Schema calls 10.0 an integer, so the typed model must hold it as one."""
    path = tmp_path / "mlops.yaml"
    path.write_text(
        MINIMAL + "validate: {size: {max: 1024.0}}\nretention: {candidates: {keep_last: 3.0}}\n"
        "data:\n  - {name: d, path: d.csv, checks: {min_rows: 10.0}}\n"
        "monitor: {source: {file: m.json}, regression: {window: 4.0}}\n"
    )
    manifest = load_manifest(path)
    assert manifest.validate is not None
    assert manifest.monitor is not None
    values = (
        manifest.validate.max_size,
        manifest.retention.keep_last,
        manifest.data[0].checks.min_rows,
        manifest.monitor.regression.window,
    )
    assert values == (1024, 3, 10, 4)
    assert all(type(value) is int for value in values)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "C:\\data\\train.csv",
            "data[0].path is the absolute path 'C:\\data\\train.csv'; write it relative to the "
            "manifest's folder",
        ),
        ("data\\train.csv", "data[0].path 'data\\train.csv' uses backslashes; write paths with /"),
    ],
)
def test_windows_paths_are_refused(tmp_path: Path, path: str, message: str) -> None:
    manifest_path = tmp_path / "mlops.yaml"
    manifest_path.write_text(MINIMAL + f"data:\n  - {{name: d, path: '{path}', format: csv}}\n")
    with pytest.raises(ManifestError) as raised:
        load_manifest(manifest_path)
    assert [issue.message for issue in raised.value.issues] == [message]


def test_a_colon_in_a_relative_path_is_not_a_drive(tmp_path: Path) -> None:
    manifest_path = tmp_path / "mlops.yaml"
    manifest_path.write_text(MINIMAL + "data:\n  - {name: d, path: 'a:b.csv'}\n")
    assert load_manifest(manifest_path).data[0].path == tmp_path / "a:b.csv"


@pytest.mark.parametrize("breaks", ["\u2028\u2028", "\r", "\x85", "\u2029"])
def test_positions_count_lines_as_git_does(tmp_path: Path, breaks: str) -> None:
    """libyaml also breaks lines at CR, NEL, U+2028 and U+2029; messages count "\\n"."""
    path = tmp_path / "mlops.yaml"
    path.write_text(
        f"# a comment{breaks}\napiVersion: mlops-ci/v1\nmodel:\n  name: x\n  version: 1.0\n",
        newline="",
    )
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    (issue,) = [i for i in raised.value.issues if "version" in i.message]
    assert (issue.line, issue.column) == (5, 12)
    path.write_text(f"a: 1{breaks}\nb: [\n", newline="")
    with pytest.raises(ManifestError) as broken:
        load_manifest(path)
    assert all(1 <= i.line <= 3 for i in broken.value.issues)


def test_the_sudden_change_rule_reads_its_absolute_and_robust_limits(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(
        MINIMAL + "monitor: {source: {file: m.json}, "
        "regression: {window: 8, max_change: 0.2, min_delta: 0.005, max_score: 3.5}}\n"
    )
    monitor = load_manifest(path).monitor
    assert monitor is not None
    assert monitor.regression == Regression(8, 0.2, min_delta=0.005, max_score=3.5)
