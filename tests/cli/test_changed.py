"""`mlops-ci changed` on a generated monorepo of 100 models: exactly the models touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner, commit, git

MANIFEST = """\
apiVersion: mlops-ci/v1
model:
  name: {name}
  version: 1.0.0
data:
  - name: train
    path: {data}
"""


def monorepo(root: Path, count: int = 100) -> list[str]:
    """``count`` models under models/, each with its own data file except every tenth,
    which reads a shared one in data/; code they all share in lib/."""
    names = []
    for index in range(count):
        name = f"m{index:03d}"
        folder = root / "models" / name
        folder.mkdir(parents=True)
        data = "../../data/shared.csv" if index % 10 == 0 else "train.csv"
        (folder / "mlops.yaml").write_text(MANIFEST.format(name=name, data=data))
        (folder / "train.csv").write_text("a\n1\n")
        (folder / "train.py").write_text("print('train')\n")
        names.append(name)
    (root / "data").mkdir()
    (root / "data" / "shared.csv").write_text("a\n1\n")
    (root / "lib").mkdir()
    (root / "lib" / "common.py").write_text("X = 1\n")
    (root / "README.md").write_text("models\n")
    return names


def changed(
    cli: CliRunner, since: str, *extra: str, environ: dict[str, str] | None = None
) -> dict[str, object]:
    done = cli("changed", "--since", since, "--json", *extra, environ=environ)
    assert done.status == 0, done.err
    result: dict[str, object] = json.loads(done.out)
    return result


def names(result: dict[str, object]) -> list[str]:
    return [item["model"] for item in result["include"]]  # type: ignore[attr-defined,index]


def test_exactly_the_models_touched(
    repository: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    everyone = monorepo(repository)
    start = commit(repository, "initial")
    monkeypatch.chdir(repository)

    (repository / "models" / "m007" / "train.py").write_text("print('better')\n")
    manifest = repository / "models" / "m042" / "mlops.yaml"
    manifest.write_text(manifest.read_text().replace("1.0.0", "1.1.0"))
    (repository / "README.md").write_text("models, documented\n")
    first = commit(repository, "feat: two models")
    result = changed(cli, start)
    assert names(result) == ["m007", "m042"]
    assert result["models"] == 100
    assert result["reasons"]["m007"] == "models/m007/train.py changed"  # type: ignore[index]

    (repository / "data" / "shared.csv").write_text("a\n2\n")
    second = commit(repository, "data: more rows")
    assert names(changed(cli, first)) == [f"m{i:03d}" for i in range(0, 100, 10)]

    (repository / "lib" / "common.py").write_text("X = 2\n")
    third = commit(repository, "refactor: shared code")
    assert names(changed(cli, second)) == everyone
    assert names(changed(cli, third)) == []
    assert names(changed(cli, "0" * 40)) == everyone  # a new branch: no earlier commit


def test_outputs_for_a_matrix_and_bad_refs(
    repository: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monorepo(repository, 3)
    start = commit(repository, "initial")
    monkeypatch.chdir(repository)
    (repository / "models" / "m001" / "train.py").write_text("print(2)\n")
    commit(repository, "feat: m001")
    outputs = tmp_path / "outputs"
    done = cli("changed", "--since", start, environ={"GITHUB_OUTPUT": str(outputs)})
    assert done.status == 0, done.err
    assert done.out.splitlines()[-1] == "1 of 3 models changed"
    text = outputs.read_text()
    assert (
        '{"include":[{"model":"m001","manifest":"models/m001/mlops.yaml","folder":"models/m001"}]}'
        in text
    )
    assert "any<<" in text or "any=true" in text
    missing = cli("changed", "--since", "no-such-ref")
    assert missing.status == 2
    assert "fetch-depth: 0" in missing.err
    only = cli("changed", "--since", start, "--json", "-f", "models/m002/mlops.yaml")
    assert json.loads(only.out)["include"] == []
    assert git(repository, "status", "--porcelain") == ""
