"""The corpus of bad manifests: each file under bad/ ends with the exact problems expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.errors import ManifestError
from mlops_ci.manifest.loader import load_manifest
from mlops_ci.manifest.source import MAX_BYTES
from tests.conftest import MINIMAL, CliRunner

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
EXPECT = "# expect: "


def expected_problems(case: Path) -> list[str]:
    lines = case.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix(EXPECT) for line in lines if line.startswith(EXPECT)]


def found_problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    return [f"{issue.line}:{issue.column} {issue.message}" for issue in raised.value.issues]


def test_the_corpus_is_large_enough_and_every_case_states_its_problems() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert expected_problems(case), f"{case.name} states no expected problem"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_bad_manifest_gives_exactly_the_expected_problems(case: Path) -> None:
    assert found_problems(case) == expected_problems(case)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_cli_exits_2_with_file_line_and_column(case: Path, cli: CliRunner) -> None:
    run = cli("manifest", "validate", "-f", str(case))
    assert run.status == 2
    first_line, first_column = expected_problems(case)[0].split(" ", 1)[0].split(":")
    assert f"{case}:{first_line}:{first_column}: " in run.out
    assert "Traceback" not in run.out + run.err


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_bytes(b"apiVersion: mlops-ci/v1\n\x89PNG\x00\x1a\x0a")
    assert found_problems(path) == [
        "2:1 this is a binary file, not a YAML manifest (it holds NUL bytes)"
    ]


def test_file_not_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_bytes(MINIMAL.encode() + "  description: café\n".encode("latin-1"))
    assert found_problems(path) == ["5:19 the file is not UTF-8 text; save it as UTF-8"]


def test_ten_megabyte_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(MINIMAL + "x-padding: [" + "1, " * (10 * 1024 * 1024 // 3) + "1]\n")
    assert path.stat().st_size > 10 * 1024 * 1024
    assert found_problems(path) == [
        f"1:1 the file is larger than {MAX_BYTES // 1024} KiB; a manifest is a short text "
        "file: keep data and models out of it"
    ]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert found_problems(tmp_path / "nope.yaml") == ["1:1 no such file; pass the manifest with -f"]
    assert found_problems(tmp_path) == ["1:1 is a folder, not a manifest file"]


def test_problems_come_sorted_by_position_and_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "mlops.yaml"
    path.write_text(
        "apiVersion: mlops-ci/v9\n"
        "model: {name: Bad Name, version: '1.0'}\n"
        "versioning: {bump: huge}\n"
        "retention: {candidates: {max_age: forever}}\n"
    )
    problems = found_problems(path)
    assert [p.split(" ", 1)[0] for p in problems] == ["1:13", "2:15", "2:34", "3:20", "4:35"]
