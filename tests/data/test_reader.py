"""A CSV file reads as Polars reads it with the declared types and every empty field
missing: the reader's own date parsing and empty-field handling change only the cost."""

from __future__ import annotations

import csv
import datetime
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.data import kernels
from mlops_ci.data import reader as reader_module
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.reader import open_table

DECLARED = {"note": "string", "day": "date", "n": "int"}
SCHEMA = {"note": pl.String, "day": pl.Date, "n": pl.Int64}

days = st.dates(min_value=datetime.date(1, 1, 1))
rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.just(""), st.text(alphabet="ab ,\"'é", max_size=15)),
        st.one_of(st.none(), st.just(""), days.map(datetime.date.isoformat)),
        st.one_of(st.none(), st.integers(-5, 5)),
    ),
    min_size=1,
    max_size=40,
)


def write(path: Path, content: list[tuple[str | None, str | None, int | None]], quote: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=quote)  # type: ignore[call-overload]
        writer.writerow(["note", "day", "n"])
        for note, day, n in content:
            writer.writerow(["" if note is None else note, "" if day is None else day, n])


def read(path: Path) -> pl.DataFrame:
    with open_table(path, path.name, "csv", DECLARED) as table:  # type: ignore[arg-type]
        return pl.concat(list(table.batches()))


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure"])
@settings(max_examples=60, deadline=None)
@given(content=rows, quote=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_csv_reads_as_polars_with_every_empty_field_missing(
    pure: bool, content: list[tuple[str | None, str | None, int | None]], quote: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        if pure:
            patch.setattr(kernels, "COMPILED", False)
        path = Path(folder, "data.csv")
        write(path, content, quote)
        # Polars' reader refuses a quoted date, so the reference reads the text and parses it
        as_text = pl.read_csv(path, schema={**SCHEMA, "day": pl.String}, null_values=[""])
        expected = as_text.with_columns(pl.col("day").str.to_date("%Y-%m-%d"))
        assert read(path).to_dicts() == expected.to_dicts()


def test_dates_in_another_form_read_as_polars_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("note,day,n\na,2020/01/05,1\nb,,2\nc,2021/02/03,3\n")
    assert read(path).get_column("day").to_list() == [
        datetime.date(2020, 1, 5),
        None,
        datetime.date(2021, 2, 3),
    ]


def test_a_date_that_is_no_date_names_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "BATCH_ROWS", 2)
    path = tmp_path / "data.csv"
    path.write_text("note,day,n\na,2020-01-05,1\nb,2020-01-06,2\nc,2020-02-30,3\n")
    with pytest.raises(DataFileError) as raised:
        read(path)
    assert str(raised.value) == (
        "data.csv: column 'day' is declared date, but row 3 holds '2020-02-30'; "
        "fix the value or the type in checks.columns"
    )
