"""Every data check passing and failing on real files, with counts, row numbers (1 is the
first data row) and masked personal data."""

from __future__ import annotations

import csv
import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.core.settings import Bounds
from mlops_ci.data import kernels
from mlops_ci.data import reader as reader_module
from mlops_ci.data.checks import balance as balance_module
from mlops_ci.data.checks import outcome as outcome_module
from mlops_ci.data.checks.outcome import CheckOutcome, DataSetReport
from mlops_ci.data.checks.scan import check_table
from mlops_ci.data.file_problems import DataFileError
from mlops_ci.data.fingerprint import FileChanged, file_blake3
from mlops_ci.data.reader import open_table
from mlops_ci.manifest.model import (
    BalanceCheck,
    ColumnType,
    DataChecks,
    DataFormat,
    LabelChecks,
    PiiChecks,
)

Row = Mapping[str, object]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_csv(folder: Path, rows: Sequence[Row], name: str = "data.csv") -> Path:
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_checks(
    path: Path,
    checks: DataChecks,
    label: str | None = None,
    file_format: DataFormat = "csv",
) -> DataSetReport:
    with open_table(path, path.name, file_format, dict(checks.columns)) as table:
        return check_table(table, "train", checks, label)


def outcome(report: DataSetReport, check: str, column: str | None = None) -> CheckOutcome:
    found = [o for o in report.outcomes if o.check == check and o.column == column]
    assert len(found) == 1, [(o.check, o.column) for o in report.outcomes]
    return found[0]


def people(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": digest(str(i)),
            "age": 20 + i % 50,
            "plan": ["basic", "pro"][i % 2],
            "region": ["north", "south"][i % 2 if i % 4 else 0],
            "note": f"customer {i}",
            "churned": int(i % 3 == 0),
        }
        for i in range(count)
    ]


@pytest.fixture(params=[None, 7], ids=["one-batch", "many-batches"])
def batch_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int | None:
    """Each test also runs with 7-row batches, so row numbers cross batch borders."""
    if request.param is not None:
        monkeypatch.setattr(reader_module, "BATCH_ROWS", request.param)
    return request.param  # type: ignore[no-any-return]


def test_a_clean_file_passes_every_check(tmp_path: Path, batch_rows: int | None) -> None:
    path = write_csv(tmp_path, people(40))
    columns: tuple[tuple[str, ColumnType], ...] = (
        ("id", "string"),
        ("age", "int"),
        ("plan", "string"),
        ("region", "string"),
        ("note", "string"),
        ("churned", "int"),
    )
    report = run_checks(
        path,
        DataChecks(
            columns=columns,
            not_null=("id", "age"),
            unique=("id",),
            range=(("age", Bounds(18, 99)),),
            allowed=(("plan", ("basic", "pro")),),
            min_rows=40,
            labels=LabelChecks(allowed=(0, 1)),
            balance=BalanceCheck("churned", 0.2, ("region",)),
            pii=PiiChecks(forbid=("email", "phone", "ip_address", "card_number"), hashed=("id",)),
        ),
        label="churned",
    )
    assert report.passed, [o.message for o in report.outcomes if not o.passed]
    assert report.rows == 40
    assert len(report.outcomes) == 16  # the declared types are one
    assert report.fingerprint.blake3 == blake3(path.read_bytes()).hexdigest()
    assert dict(report.fingerprint.schema)["age"] == "Int64"


def test_not_null_counts_and_shows_the_first_five_rows(
    tmp_path: Path, batch_rows: int | None
) -> None:
    rows = people(30)
    for index in (2, 9, 10, 17, 22, 28):
        rows[index]["age"] = ""
    path = write_csv(tmp_path, rows)
    found = outcome(run_checks(path, DataChecks(not_null=("age", "plan"))), "not_null", "age")
    assert (found.passed, found.value, found.rows) == (False, 6, (3, 10, 11, 18, 23))
    assert found.message == "'age' has 6 missing values (rows 3, 10, 11, 18, 23)"
    plan = outcome(run_checks(path, DataChecks(not_null=("plan",))), "not_null", "plan")
    assert plan.passed


def test_not_null_counts_nan_in_a_float_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [{"x": "1.5"}, {"x": "NaN"}, {"x": "2"}])
    found = outcome(
        run_checks(path, DataChecks(columns=(("x", "float"),), not_null=("x",))), "not_null", "x"
    )
    assert (found.value, found.rows) == (1, (2,))


def test_declared_column_types_are_a_row_of_the_report(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [{"x": "1.5", "n": "2"}, {"x": "2", "n": "3"}])
    checks = DataChecks(columns=(("x", "float"), ("n", "int")))
    found = outcome(run_checks(path, checks), "columns")
    assert found.passed
    assert found.message == "every value is of its declared type (x float, n int)"
    assert found.to_gate("train").name == "train: columns"
    assert [o.check for o in run_checks(path, DataChecks()).outcomes] == []  # none declared


def test_unique_finds_every_repeat_and_only_repeats(tmp_path: Path, batch_rows: int | None) -> None:
    rows = people(30)
    rows[12]["id"] = rows[3]["id"]
    rows[25]["id"] = rows[3]["id"]
    rows[29]["id"] = rows[0]["id"]
    path = write_csv(tmp_path, rows)
    found = outcome(run_checks(path, DataChecks(unique=("id", "age"))), "unique", "id")
    assert (found.passed, found.value, found.rows) == (False, 3, (13, 26, 30))
    assert "3 values that repeat an earlier row's (rows 13, 26, 30)" in found.message
    distinct = write_csv(tmp_path, people(30), "distinct.csv")
    assert outcome(run_checks(distinct, DataChecks(unique=("id",))), "unique", "id").passed


def test_unique_ignores_missing_values(tmp_path: Path) -> None:
    rows = [{"id": i, "n": n} for n, i in enumerate(["a", "", "", "b"])]
    path = write_csv(tmp_path, rows)  # an empty field is a missing value
    assert outcome(run_checks(path, DataChecks(unique=("id",))), "unique", "id").passed


def test_unique_over_many_partitions_and_spills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "BATCH_ROWS", 1000)
    frame = pl.DataFrame({"id": range(20_000)}).with_columns(pl.col("id").cast(pl.String))
    frame = pl.concat([frame, pl.DataFrame({"id": ["17", "19999"]})])
    path = tmp_path / "big.csv"
    frame.write_csv(path)
    found = outcome(run_checks(path, DataChecks(unique=("id",))), "unique", "id")
    assert (found.value, found.rows) == (2, (20_001, 20_002))


def test_range_counts_values_outside_and_text_that_is_no_number(
    tmp_path: Path, batch_rows: int | None
) -> None:
    rows = [{"age": a, "score": s} for a, s in [(30, "1"), (-1, "x"), (120, "2"), (40, "")]]
    path = write_csv(tmp_path, rows * 3)
    report = run_checks(
        path,
        DataChecks(
            columns=(("age", "int"),),
            range=(("age", Bounds(0, 100)), ("score", Bounds(min=0))),
        ),
    )
    age = outcome(report, "range", "age")
    assert (age.value, age.rows) == (6, (2, 3, 6, 7, 10))
    assert age.message.startswith("'age' has 6 values outside [0, 100]")
    score = outcome(report, "range", "score")  # undeclared: read as text, "x" is no number
    assert (score.value, score.rows) == (3, (2, 6, 10))
    within = run_checks(path, DataChecks(range=(("age", Bounds(-5, 200)),)))
    assert outcome(within, "range", "age").passed


def test_range_fails_nan(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [{"x": "0.5"}, {"x": "nan"}])
    report = run_checks(path, DataChecks(columns=(("x", "float"),), range=(("x", Bounds(0, 1)),)))
    assert outcome(report, "range", "x").rows == (2,)


def test_allowed_for_text_numbers_and_long_lists(tmp_path: Path, batch_rows: int | None) -> None:
    rows = [{"plan": p, "tier": t} for p, t in [("basic", 1), ("gold", 2), ("pro", 7)]] * 4
    path = write_csv(tmp_path, rows)
    many = (*(f"plan{i}" for i in range(30)), "basic", "pro")
    report = run_checks(
        path,
        DataChecks(
            columns=(("tier", "int"),),
            allowed=(("plan", ("basic", "pro")), ("tier", (1, 2))),
        ),
    )
    plan = outcome(report, "allowed", "plan")
    assert (plan.value, plan.rows) == (4, (2, 5, 8, 11))
    assert plan.message == "'plan' has 4 values other than basic, pro (rows 2, 5, 8, 11)"
    assert outcome(report, "allowed", "tier").value == 4
    long_list = run_checks(path, DataChecks(allowed=(("plan", many),)))
    assert outcome(long_list, "allowed", "plan").value == 4
    allowed_all = run_checks(path, DataChecks(allowed=(("plan", ("basic", "pro", "gold")),)))
    assert outcome(allowed_all, "allowed", "plan").passed


def test_allowed_numbers_against_an_undeclared_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [{"flag": "1"}, {"flag": "0"}, {"flag": "2"}])
    report = run_checks(path, DataChecks(allowed=(("flag", (0, 1.0)),)))
    assert outcome(report, "allowed", "flag").rows == (3,)


def test_allowed_dates_and_times_in_a_typed_file(tmp_path: Path) -> None:
    path = tmp_path / "days.parquet"
    days = [date(2024, 1, 2), date(2024, 1, 3), None]
    pl.DataFrame(
        {"day": days, "at": [datetime(2024, 1, 2, 3, 4, 5), None, datetime(2024, 5, 6)]}
    ).write_parquet(path)
    checks = DataChecks(
        columns=(("day", "date"), ("at", "datetime")),
        allowed=(("day", ("2024-01-02",)), ("at", ("2024-01-02T03:04:05",))),
    )
    report = run_checks(path, checks, file_format="parquet")
    assert outcome(report, "allowed", "day").rows == (2,)
    assert outcome(report, "allowed", "at").rows == (3,)


def test_min_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, people(10))
    assert outcome(run_checks(path, DataChecks(min_rows=10)), "min_rows").passed
    short = outcome(run_checks(path, DataChecks(min_rows=11)), "min_rows")
    assert (short.passed, short.message) == (False, "10 rows; at least 11 needed")


def test_labels_allowed_and_missing(tmp_path: Path, batch_rows: int | None) -> None:
    rows = [{"y": y} for y in ["0", "1", "", "2", "1", "", "0", "0"]]
    path = write_csv(tmp_path, rows)
    strict = run_checks(path, DataChecks(labels=LabelChecks(allowed=(0, 1))), label="y")
    allowed = outcome(strict, "labels.allowed", "y")
    assert (allowed.value, allowed.rows) == (1, (4,))
    missing = outcome(strict, "labels.max_missing", "y")
    assert (missing.passed, missing.value, missing.rows) == (False, 0.25, (3, 6))
    assert missing.message == "25% of rows have no label 'y' (rows 3, 6); at most 0% allowed"
    lenient = run_checks(
        path, DataChecks(labels=LabelChecks(allowed=(0, 1, 2), max_missing=0.3)), label="y"
    )
    assert all(o.passed for o in lenient.outcomes)


def test_balance_overall_and_within_sensitive_groups(
    tmp_path: Path, batch_rows: int | None
) -> None:
    # north: 5 of 10 churn; south: 0 of 10 churn -> overall 25 %, south 0 %
    rows = [{"churned": int(i < 5), "region": "north"} for i in range(10)]
    rows += [{"churned": 0, "region": "south"} for _ in range(10)]
    path = write_csv(tmp_path, rows)
    report = run_checks(path, DataChecks(balance=BalanceCheck("churned", 0.2, ("region",))))
    overall = outcome(report, "balance", "churned")
    assert (overall.passed, overall.value) == (True, 0.25)
    within = outcome(report, "balance within region", "churned")
    assert (within.passed, within.value) == (False, 0.0)
    assert within.message == (
        "class '1' of 'churned' holds 0% of the rows where region = 'south'; "
        "each class needs at least 20%"
    )
    strict = run_checks(path, DataChecks(balance=BalanceCheck("churned", 0.3)))
    assert not outcome(strict, "balance", "churned").passed


def test_a_group_holding_personal_data_is_masked_in_the_balance_message(
    tmp_path: Path,
) -> None:
    """The balance check names its groups by value; a value that is personal data is
    masked there as it is everywhere else."""
    rows = [{"churned": int(i < 5), "region": "north"} for i in range(10)]
    rows += [{"churned": 0, "region": "alice.secret@example.com"} for _ in range(10)]
    path = write_csv(tmp_path, rows)
    report = run_checks(path, DataChecks(balance=BalanceCheck("churned", 0.2, ("region",))))
    within = outcome(report, "balance within region", "churned")
    assert "alice.secret" not in within.message
    assert within.message == (
        "class '1' of 'churned' holds 0% of the rows where region = a************m "
        "(24 characters); each class needs at least 20%"
    )
    by_class = run_checks(
        write_csv(tmp_path, [{"who": "bob@example.org"}] + [{"who": "x"}] * 9, "who.csv"),
        DataChecks(balance=BalanceCheck("who", 0.2)),
    )
    assert "bob@" not in outcome(by_class, "balance", "who").message


def test_balance_counts_a_class_first_seen_in_a_later_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "BATCH_ROWS", 5)
    rows = [{"y": "a"}] * 10 + [{"y": "b"}] * 5 + [{"y": "a"}] * 5
    path = write_csv(tmp_path, rows)
    found = outcome(run_checks(path, DataChecks(balance=BalanceCheck("y", 0.3))), "balance", "y")
    assert (found.passed, found.value) == (False, 0.25)


def test_a_numeric_target_is_balanced_by_its_quantile_bins(
    tmp_path: Path, batch_rows: int | None
) -> None:
    # prices 1..40: north holds the cheap half, south the dear half, with one dear in north
    rows = [{"price": float(p), "region": "north"} for p in range(1, 20)]
    rows += [{"price": 40.0, "region": "north"}]
    rows += [{"price": float(p), "region": "south"} for p in range(20, 40)]
    path = write_csv(tmp_path, rows)
    columns = (("price", "float"), ("region", "string"))
    checks = DataChecks(columns=columns, balance=BalanceCheck("price", 0.2, ("region",), bins=4))
    report = run_checks(path, checks)
    overall = outcome(report, "balance", "price")
    # cut at the values of ranks 0, 9, 19, 29, 39: 1, 10, 20, 30, 40; [1, 10) holds 9 of 40
    assert (overall.passed, overall.value) == (True, 0.225)
    within = outcome(report, "balance within region", "price")
    assert (within.passed, within.value) == (False, 0.0)
    assert within.message == (
        "bin [1, 10) of 'price' holds 0% of the rows where region = 'south'; "
        "each bin needs at least 20%"
    )
    # a target of few values: cuts that repeat make fewer, never empty, bins
    path = write_csv(tmp_path, [{"price": 1.0}] * 20 + [{"price": 2.0}] * 20, "few.csv")
    few = DataChecks(columns=(("price", "float"),), balance=BalanceCheck("price", 0.2, bins=4))
    found = outcome(run_checks(path, few), "balance", "price")
    assert (found.value, found.message.split(" of ")[0]) == (0.5, "bin [1, 2)")
    with pytest.raises(DataFileError, match=r"checks.balance.bins needs a numeric column"):
        run_checks(path, DataChecks(balance=BalanceCheck("price", 0.2, bins=4)))  # text


def expected_balance(rows: Sequence[tuple[int | None, str | None]]) -> tuple[float, float]:
    """The smallest class share overall and within any region, counted the plain way."""
    classes = sorted({c for c, _ in rows if c is not None})
    overall = [sum(1 for c, _ in rows if c == k) for k in classes]
    within = []
    for region in {r for c, r in rows if c is not None}:
        counts = [sum(1 for c, r in rows if c == k and r == region) for k in classes]
        within.append(min(counts) / sum(counts))
    return min(overall) / sum(overall), min(within)


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure"])
@pytest.mark.parametrize("allowed", [False, True], ids=["learned-codes", "allowed-codes"])
@pytest.mark.parametrize("label_type", [None, "int"], ids=["text-label", "int-label"])
@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([0, 1, None]),
            st.sampled_from(["north", "south", "a region with a long name", None, "x"]),
        ),
        min_size=1,
        max_size=40,
    ).filter(lambda rows: any(c is not None for c, _ in rows)),
    batch=st.sampled_from([2, 5, 1000]),
)
def test_balance_by_codes_counts_as_plain_counting(
    pure: bool,
    allowed: bool,
    label_type: ColumnType | None,
    rows: list[tuple[int | None, str | None]],
    batch: int,
) -> None:
    checks = DataChecks(
        columns=(("churned", label_type),) if label_type else (),
        balance=BalanceCheck("churned", 0.0, ("region",)),
        allowed=(("region", ("north", "south", "a region with a long name")),) if allowed else (),
        labels=LabelChecks(allowed=(0, 1)),
    )
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader_module, "BATCH_ROWS", batch)
        if pure:
            patch.setattr(kernels, "COMPILED", False)
        path = write_csv(Path(folder), [{"churned": c, "region": r} for c, r in rows])
        report = run_checks(path, checks, label="churned")
    overall, within = expected_balance(rows)
    assert outcome(report, "balance", "churned").value == pytest.approx(overall)
    assert outcome(report, "balance within region", "churned").value == pytest.approx(within)


def test_balance_on_a_column_of_many_values_is_grouped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # past kernels.MAX_CODES values a column is no longer coded, and past _MAX_CELLS the
    # combinations are not either: both are counted by grouping, the same
    monkeypatch.setattr(reader_module, "BATCH_ROWS", 100)
    monkeypatch.setattr(balance_module, "_MAX_CELLS", 8)
    rows = [{"y": i % 2, "band": f"b{i % 300}"} for i in range(1200)]
    path = write_csv(tmp_path, rows)
    report = run_checks(path, DataChecks(balance=BalanceCheck("y", 0.4, ("band",))))
    assert outcome(report, "balance", "y").value == pytest.approx(0.5)
    assert outcome(report, "balance within band", "y").value == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "write to jane.doe@example.com please"),
        ("phone", "call +44 20 7946 0958"),
        ("ip_address", "from 192.168.10.20"),
        ("ip_address", "from 2001:db8::8a2e:370:7334"),
        ("card_number", "paid with 4111 1111 1111 1111"),
    ],
)
def test_each_kind_of_personal_data_is_found_and_masked(
    tmp_path: Path, kind: str, value: str, batch_rows: int | None
) -> None:
    rows: list[dict[str, object]] = [{"note": f"plain note {i % 3}", "n": i} for i in range(20)]
    rows[13]["note"] = value
    path = write_csv(tmp_path, rows)
    forbid = ("email", "phone", "ip_address", "card_number")
    report = run_checks(path, DataChecks(pii=PiiChecks(forbid=forbid)))  # type: ignore[arg-type]
    found = outcome(report, f"pii {kind}")
    assert (found.passed, found.value, found.rows) == (False, 1, (14,))
    assert "in note" in found.message
    every_message = " ".join(o.message for o in report.outcomes)
    assert value not in every_message
    assert value[4:12] not in every_message
    others = [o for o in report.outcomes if o.check != f"pii {kind}"]
    assert all(o.passed for o in others), [o.message for o in others]


def test_personal_data_in_a_column_of_many_values(tmp_path: Path) -> None:
    rows = [{"note": f"ticket {i:06d}-x"} for i in range(300)]
    rows[250]["note"] = "mail ann@example.org"
    rows[260]["note"] = "mail ann@example.org"
    path = write_csv(tmp_path, rows)
    found = outcome(run_checks(path, DataChecks(pii=PiiChecks(forbid=("email",)))), "pii email")
    assert (found.value, found.rows) == (2, (251, 261))
    assert found.message.startswith("2 values hold an e")
    assert "m************g (20 characters)" in found.message


def test_a_column_that_passes_its_allowed_check_still_gets_searched_when_it_fails(
    tmp_path: Path,
) -> None:
    rows = [{"plan": "basic"}] * 5 + [{"plan": "bob@example.com"}]
    path = write_csv(tmp_path, rows)
    report = run_checks(
        path,
        DataChecks(allowed=(("plan", ("basic",)),), pii=PiiChecks(forbid=("email",))),
    )
    assert outcome(report, "pii email").rows == (6,)
    assert outcome(report, "pii email").message.startswith("1 value holds an e")
    assert outcome(report, "allowed", "plan").rows == (6,)


def test_hashed_columns_hold_digests(tmp_path: Path, batch_rows: int | None) -> None:
    sha1 = hashlib.sha1(b"x", usedforsecurity=False).hexdigest()
    rows = [{"id": digest(str(i)), "other": sha1} for i in range(12)]
    rows[4]["id"] = "jane@example.com"
    rows[9]["id"] = digest("9").upper()  # a digest in capitals is still a digest
    rows[10]["id"] = digest("10")[:-1]
    path = write_csv(tmp_path, rows)
    report = run_checks(path, DataChecks(pii=PiiChecks(hashed=("id", "other"))))
    found = outcome(report, "pii hashed", "id")
    assert (found.value, found.rows) == (2, (5, 11))
    assert "jane" not in found.message
    assert outcome(report, "pii hashed", "other").passed


def test_a_hashed_column_is_not_searched_for_personal_data(tmp_path: Path) -> None:
    # a sha256 digest can hold a run of digits that passes the Luhn check
    value = "ab4111111111111111cd" + "0" * 44
    path = write_csv(tmp_path, [{"id": value}])
    report = run_checks(
        path, DataChecks(pii=PiiChecks(forbid=("card_number", "phone"), hashed=("id",)))
    )
    assert report.passed


def test_parquet_and_jsonl_and_gzip_read_the_same(tmp_path: Path) -> None:
    rows = people(25)
    rows[7]["age"] = None
    frame = pl.DataFrame(rows)
    frame.write_parquet(tmp_path / "data.parquet")
    frame.write_ndjson(tmp_path / "data.jsonl")
    frame.write_csv(tmp_path / "data.csv")
    import gzip

    (tmp_path / "data.csv.gz").write_bytes(gzip.compress((tmp_path / "data.csv").read_bytes()))
    checks = DataChecks(
        columns=(("age", "float"), ("plan", "string")),
        not_null=("age",),
        allowed=(("plan", ("basic",)),),
    )
    results = []
    for name, file_format in [
        ("data.parquet", "parquet"),
        ("data.jsonl", "jsonl"),
        ("data.csv", "csv"),
        ("data.csv.gz", "csv"),
    ]:
        report = run_checks(tmp_path / name, checks, file_format=file_format)  # type: ignore[arg-type]
        results.append([(o.check, o.value, o.rows) for o in report.outcomes] + [report.rows])
    assert results[0] == results[1] == results[2] == results[3]
    assert results[0][:2] == [("columns", 0, ()), ("not_null", 1, (8,))]


def test_rows_shown_never_exceed_five(tmp_path: Path) -> None:
    assert outcome_module.ROWS_SHOWN == 5
    path = write_csv(tmp_path, [{"x": ""}] * 50 + [{"x": "1"}])
    found = outcome(run_checks(path, DataChecks(not_null=("x",))), "not_null", "x")
    assert (found.value, found.rows) == (50, (1, 2, 3, 4, 5))


class _ChangesTheFile:
    """A meter that, at the first batch read, does to the file what another process might."""

    def __init__(self, path: Path, change: str) -> None:
        self.path, self.change, self.done = path, change, False

    def update(self, rows: int) -> None:
        if self.done:
            return
        self.done = True
        if self.change == "truncate":
            with self.path.open("r+b") as handle:
                handle.truncate(100)
        elif self.change == "append":
            with self.path.open("a") as handle:
                handle.write("9,late\n" * 100)
        else:
            self.path.unlink()

    def finish(self) -> None:
        pass


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("truncate", "changed while it was read (it was 187,785 bytes, now 100)"),
        ("append", "changed while it was read (it was 187,785 bytes, now 188,485)"),
        ("remove", "was removed while it was read; run again once nothing moves it"),
    ],
)
def test_a_file_changed_while_it_is_read_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, said: str
) -> None:
    """Its checks and fingerprint would hold for bytes no one has: exit 2, one sentence."""
    monkeypatch.setattr(reader_module, "BATCH_ROWS", 1000)
    path = write_csv(tmp_path, [{"a": i, "b": f"v{i}"} for i in range(15_000)])
    with (
        pytest.raises(DataFileError) as raised,
        open_table(path, "data/train.csv", "csv", {}) as table,
    ):
        check_table(
            table, "train", DataChecks(not_null=("a",)), None, _ChangesTheFile(path, change)
        )
    assert str(raised.value).startswith(f"data/train.csv {said}")
    assert raised.value.exit_status == 2


def test_the_fingerprint_covers_exactly_the_bytes_the_read_began_with(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n1\n2\n")
    assert file_blake3(path, 4) == blake3(b"a\n1\n").hexdigest()
    assert file_blake3(path) == blake3(b"a\n1\n2\n").hexdigest()
    with pytest.raises(FileChanged):
        file_blake3(path, 100)
