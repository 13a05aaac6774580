"""Paths the tool empties, deletes or writes, and paths through links: a manifest must not
be able to aim the tool at git's own folder, the manifest, tracked files or the world
outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops_ci.errors import ManifestError
from mlops_ci.manifest.loader import load_manifest
from tests.conftest import MINIMAL, commit, git


def _issues(manifest: Path) -> dict[str, str]:
    with pytest.raises(ManifestError) as raised:
        load_manifest(manifest)
    return {issue.path: issue.message for issue in raised.value.issues}


def _build(artifacts: str, metrics: str = "build/metrics.json") -> str:
    return (
        MINIMAL + f"build:\n  command: python train.py\n  artifacts: '{artifacts}'\n"
        f"  metrics: '{metrics}'\n"
    )


@pytest.mark.parametrize("artifacts", [".git", ".git/objects", "./.git", "sub/../.git", ".GIT"])
def test_the_artifacts_folder_is_never_gits_own(repository: Path, artifacts: str) -> None:
    manifest = repository / "mlops.yaml"
    manifest.write_text(_build(artifacts))
    message = _issues(manifest)["build.artifacts"]
    assert f"build.artifacts '{artifacts}' is git's own folder or inside it" in message
    assert "name a folder of the build's own, such as build/model" in message


def test_a_link_to_gits_folder_is_refused_as_artifacts(repository: Path) -> None:
    os.symlink(repository / ".git", repository / "out")
    manifest = repository / "mlops.yaml"
    manifest.write_text(_build("out"))
    assert "is git's own folder or inside it" in _issues(manifest)["build.artifacts"]


@pytest.mark.parametrize("artifacts", ["..", "../..", "../../models"])
def test_the_artifacts_folder_never_holds_the_manifest(repository: Path, artifacts: str) -> None:
    folder = repository / "models" / "churn"
    folder.mkdir(parents=True)
    manifest = folder / "mlops.yaml"
    manifest.write_text(_build(artifacts))
    message = _issues(manifest)["build.artifacts"]
    assert message.startswith(f"build.artifacts '{artifacts}' holds the manifest's folder")


def test_the_artifacts_folder_never_holds_tracked_files(repository: Path) -> None:
    (repository / "src").mkdir()
    (repository / "src" / "train.py").write_text("print('train')\n")
    commit(repository, "the training code")
    manifest = repository / "mlops.yaml"
    manifest.write_text(_build("src"))
    message = _issues(manifest)["build.artifacts"]
    git(repository, "rm", "-q", "--cached", "src/train.py")
    assert load_manifest(manifest).build is not None  # asked again once the index changed
    assert message == (
        "build.artifacts 'src' holds files git tracks, such as 'src/train.py', and build "
        "empties it before each build; name a folder of the build's own, such as build/model"
    )


def test_a_folder_of_untracked_build_output_is_accepted(repository: Path) -> None:
    (repository / "README.md").write_text("hello\n")
    commit(repository, "a readme")
    (repository / "build" / "model").mkdir(parents=True)
    (repository / "build" / "model" / "weights.bin").write_bytes(b"\0")
    manifest = repository / "mlops.yaml"
    manifest.write_text(_build("build/model"))
    assert load_manifest(manifest).build is not None


def test_validation_leaves_gits_folder_alone_and_the_build_never_empties_it(
    repository: Path,
) -> None:
    commit(repository, "first", touch="a.txt")
    before = git(repository, "log", "--oneline")
    manifest = repository / "mlops.yaml"
    manifest.write_text(_build(".git"))
    _issues(manifest)
    assert git(repository, "log", "--oneline") == before


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("build.metrics", _build("build/model", metrics=".git/config")),
        ("build.metrics", _build("build/model", metrics="mlops.yaml")),
        (
            "release.environments[0].targets[0].kubernetes",
            MINIMAL + "release:\n  image: {repository: ghcr.io/a/b}\n  environments:\n"
            "    - name: prod\n      targets: [{kubernetes: .git/hooks/post-checkout}]\n",
        ),
    ],
)
def test_files_the_tool_deletes_or_writes_are_not_gits_nor_the_manifest(
    repository: Path, field: str, text: str
) -> None:
    manifest = repository / "mlops.yaml"
    manifest.write_text(text)
    message = _issues(manifest)[field]
    assert "is inside git's own folder" in message or "is the manifest itself" in message
    assert message.endswith("; name another file")


def test_dot_dot_after_a_link_is_resolved_where_the_link_leads(
    repository: Path, tmp_path: Path
) -> None:
    """``data/outdir/..`` is, to the system, the parent of where the link leads, not
    ``data``: resolve the links first, then check where the path ends."""
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.csv").write_text("a\n1\n")
    (repository / "data").mkdir()
    os.symlink(outside / "folder", repository / "data" / "outdir")
    (repository / "data" / "secret.csv").write_text("a\n2\n")  # what the words would mean
    manifest = repository / "mlops.yaml"
    manifest.write_text(MINIMAL + "data:\n  - {name: d, path: data/outdir/../secret.csv}\n")
    assert _issues(manifest)["data[0].path"] == (
        "data[0].path 'data/outdir/../secret.csv' is a link that leads out of the "
        "repository; point it inside"
    )


def test_dot_dot_after_a_link_that_stays_inside_is_accepted(repository: Path) -> None:
    (repository / "shared" / "folder").mkdir(parents=True)
    (repository / "shared" / "train.csv").write_text("a\n1\n")
    (repository / "data").mkdir()
    os.symlink(repository / "shared" / "folder", repository / "data" / "outdir")
    manifest = repository / "mlops.yaml"
    manifest.write_text(MINIMAL + "data:\n  - {name: d, path: data/outdir/../train.csv}\n")
    assert load_manifest(manifest).data[0].path.resolve() == repository / "shared" / "train.csv"
