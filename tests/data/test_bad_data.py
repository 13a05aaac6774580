"""Data files that cannot be read as the manifest says: `mlops-ci ingest` explains each one
in a sentence that names the file (and line, row or column) and exits 2, never with a
traceback."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from mlops_ci.data.file_problems import DataFileError, ragged_problem
from mlops_ci.data.reader import open_table
from tests.conftest import CliRunner, commit

Ingest = Callable[[str, bytes], tuple[int, str, str]]

MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: churn, version: 1.0.0}}
data:
  - name: train
    path: data/{file}
    checks:
      columns: {{id: string, age: int}}
      not_null: [age]
"""


@pytest.fixture
def ingest(cli: CliRunner, repository: Path) -> Ingest:
    """Writes the manifest and the data file, commits, runs `mlops-ci ingest`."""

    def run(file: str, content: bytes) -> tuple[int, str, str]:
        (repository / "mlops.yaml").write_text(MANIFEST.format(file=file))
        (repository / "data").mkdir(exist_ok=True)
        (repository / "data" / file).write_bytes(content)
        commit(repository, "data")
        result = cli("ingest", "--no-tracking", "-f", str(repository / "mlops.yaml"))
        return result.status, result.out, result.err

    return run


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("train.csv", b"", "data/train.csv is empty; a data set needs at least one row"),
        ("train.csv", b"id,age\n", "data/train.csv has columns but no rows; a data set needs rows"),
        (
            "train.csv",
            b"id,age\na,1\nb,2,3\n",
            "data/train.csv:3: this row has 3 fields, the header 2; quote values that hold "
            "commas, or fix the row",
        ),
        (
            "train.csv",
            b"id,age\na,1\nb\xff\xfe,2\n",
            "data/train.csv:3: bytes that are not UTF-8 (at byte 13); save the file as UTF-8",
        ),
        (
            "train.csv",
            b"id\xff,age\na,1\n",
            "data/train.csv:1: bytes that are not UTF-8 (at byte 3); save the file as UTF-8",
        ),
        (
            "train.csv",
            b"x" * (1 << 20),
            "data/train.csv: the first line is longer than 1 MiB, so this is no CSV header; "
            "check the file (or set format in the manifest)",
        ),
        (
            "train.csv",
            b"id,age\na,1\nb,2\nc,twelve\n",
            "data/train.csv: column 'age' is declared int, but row 3 holds 'twelve'; "
            "fix the value or the type in checks.columns",
        ),
        (
            "train.csv",
            b"id,years\na,1\n",
            "data/train.csv has no column 'age' (checks.columns declares it); "
            "its columns are 'id', 'years'",
        ),
        (
            "train.jsonl",
            b'{"id": "a", "age": 1}\n{"id": "b", "age": "old"}\n',
            "data/train.jsonl: column 'age' is declared int, but row 2 holds 'old'; "
            "fix the value or the type in checks.columns",
        ),
        (
            "train.jsonl",
            b'{"id": "a", "age": 1}\nnot json\n',
            "data/train.jsonl:2: this line is not JSON at column 1; write one JSON object a line",
        ),
    ],
    ids=[
        "empty",
        "header-only",
        "ragged",
        "not-utf8",
        "not-utf8-header",
        "1MB-line",
        "wrong-type",
        "missing-column",
        "jsonl-wrong-type",
        "jsonl-malformed",
    ],
)
def test_bad_data_exits_2_with_a_sentence(
    ingest: Ingest, file: str, content: bytes, message: str
) -> None:
    status, out, err = ingest(file, content)
    assert status == 2, out + err
    assert err.startswith(f"mlops-ci: {message}"), err
    assert "Traceback" not in err
    assert len(err) < 500


def test_a_parquet_file_with_another_schema(ingest: Ingest, tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pl.DataFrame({"id": ["a"], "age": ["old"]}).write_parquet(path)
    status, _, err = ingest("train.parquet", path.read_bytes())
    assert status == 2
    assert err == (
        "mlops-ci: data/train.parquet has a different schema than checks.columns declares: "
        "'age' is String, not int; write the file with the declared types or fix "
        "checks.columns\n"
    )


def test_a_missing_data_file(ingest: Ingest, cli: CliRunner, repository: Path) -> None:
    status, out, _ = ingest("train.csv", b"id,age\na,1\n")
    assert status == 0
    assert out.startswith("✅ churn 1.0.1-rc.1 is candidate")
    (repository / "data" / "train.csv").unlink()
    again = cli("ingest", "--no-tracking", "-f", str(repository / "mlops.yaml"))
    # (deleting a committed file is an uncommitted change: the run is a preview, and says so)
    assert (again.status, again.err.splitlines()[-1]) == (
        2,
        "mlops-ci: data/train.csv does not exist; add it, or fix data[].path in the manifest",
    )


def test_a_broken_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with (
        pytest.raises(DataFileError, match=r"^x.csv.gz is not a readable gzip file"),
        open_table(path, "x.csv.gz", "csv", {}),
    ):
        pass


def test_a_value_quoted_in_an_error_is_masked_when_it_is_personal_data(ingest: Ingest) -> None:
    status, _, err = ingest("train.csv", b"id,age\na,1\nb,jane@example.com\n")
    assert status == 2
    assert "jane@example.com" not in err
    assert "j************m (16 characters)" in err


def test_a_gzip_bomb_of_one_long_line_is_refused_while_it_is_unpacked(ingest: Ingest) -> None:
    """64 MiB of commas pack into tens of KiB; a reader would hold the line whole, several
    times over. Memory stays bounded (the unpacking refuses it a MiB at a time)."""
    bomb = gzip.compress(b"id,age\n" + b"," * (64 << 20), compresslevel=1)
    assert len(bomb) < 1 << 20
    status, _, err = ingest("train.csv.gz", bomb)
    assert status == 2
    assert err.strip() == (
        "mlops-ci: data/train.csv.gz:2: a line longer than 16 MiB unpacked; no row of a data "
        "set is that long, so the file is refused before it is read whole"
    )


def test_a_packed_line_of_a_few_mib_is_read(ingest: Ingest) -> None:
    rows = b"id,age\n" + b"x" * (3 << 20) + b",1\nb,2\n"
    status, _, err = ingest("train.csv.gz", gzip.compress(rows, compresslevel=1))
    assert status == 0, err


def test_a_row_of_many_commas_is_counted_without_holding_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b'a,b\n1,"x,\ny"\n' + b"," * (3 << 20) + b"\n")
    assert ragged_problem(path, "wide.csv") == (
        "wide.csv:4: this row has 3,145,729 fields, the header 2; quote values that hold "
        "commas, or fix the row"
    )


def test_parquet_with_text_that_is_not_utf8_is_called_parquet_not_a_text_file(
    ingest: Ingest, tmp_path: Path
) -> None:
    written = tmp_path / "u.parquet"
    pl.DataFrame({"id": ["helloworld" * 3, "b"], "age": [1, 2]}).write_parquet(
        written, compression="uncompressed", statistics=False
    )
    broken = written.read_bytes().replace(b"helloworld" * 3, b"\xff\xfe" * 15)
    status, _, err = ingest("train.parquet", broken)
    assert status == 2
    assert err.startswith("mlops-ci: data/train.parquet cannot be read as PARQUET: ")
    assert "invalid UTF-8" in err
    assert "save the file as UTF-8" not in err


def test_a_bad_jsonl_line_is_numbered(ingest: Ingest) -> None:
    content = b'{"id": "a", "age": 1}\n{"id": "b", "age": 2}\n{"id": oops}\n'
    status, _, err = ingest("train.jsonl", content)
    assert status == 2
    assert err.strip() == (
        "mlops-ci: data/train.jsonl:3: this line is not JSON at column 8; write one JSON "
        "object a line"
    )
    status, _, err = ingest("train.jsonl", b'{"id": "a", "age": 1}\n[1, 2]\n')
    assert "data/train.jsonl:2: this line is JSON but not an object" in err


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (os.mkfifo, "is a FIFO (a pipe), not a file"),
        (lambda path: path.mkdir(), "is a folder, not a file"),
        (lambda path: os.symlink(path, path), "is a link in a loop of links; point it at a file"),
        (lambda path: os.symlink(path.with_name("gone.csv"), path), "is a link to nothing"),
    ],
)
def test_what_is_no_data_file_is_named_for_what_it_is(
    cli: CliRunner, repository: Path, make: Callable[[Path], None], said: str
) -> None:
    """A FIFO would block the read for ever; none of these is a file that does not exist."""
    (repository / "mlops.yaml").write_text(MANIFEST.format(file="train.csv"))
    (repository / "data").mkdir()
    make(repository / "data" / "train.csv")
    commit(repository, "data")
    done = cli("ingest", "--no-tracking", "-f", str(repository / "mlops.yaml"))
    assert done.status == 2, done.err
    assert done.err.startswith(f"mlops-ci: data/train.csv {said}")
