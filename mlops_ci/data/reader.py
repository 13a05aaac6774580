"""A data file as a stream of Polars batches, in bounded memory, with every way it can be
unreadable turned into a sentence that names the file, the line or column, and the fix.

CSV columns that ``checks.columns`` declares are parsed as their type; the others stay text,
so a column never changes type half-way through a file. Compressed files (``.gz``) are
unpacked to a temporary file first: Polars would otherwise unpack them in memory.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl

from mlops_ci.core.pii import shown
from mlops_ci.data import kernels
from mlops_ci.data.file_problems import (
    DataFileError,
    check_csv_header,
    column_name,
    column_names,
    first_line,
    jsonl_problem,
    not_a_file_problem,
    ragged_problem,
    utf8_problem,
)
from mlops_ci.data.fingerprint import FileIdentity, identity_of
from mlops_ci.manifest.model import ColumnType, DataFormat

BATCH_ROWS = 250_000

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}


@dataclass(frozen=True)
class Table:
    """A readable data file: ``name`` is how messages call it (its path in the repository)."""

    name: str
    path: Path
    format: DataFormat
    schema: Mapping[str, pl.DataType]
    declared: Mapping[str, ColumnType]
    # The file as its read began (its unpacked copy's, for gzip); None: an engine's table.
    identity: FileIdentity | None = None

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pl.DataFrame]:
        """The rows in order, a batch at a time; ``columns`` narrows what is read."""
        frame = self._scan()
        if columns is not None:
            frame = frame.select(columns)
        try:
            for batch in frame.collect_batches(chunk_size=BATCH_ROWS):
                yield self._finish(batch) if self.format == "csv" else batch
        except pl.exceptions.PolarsError as error:
            raise DataFileError(self._explain(error)) from None

    def _scan(self) -> pl.LazyFrame:
        if self.format == "csv":
            # Dates are read as text and parsed by _finish; Polars' own null_values=[""]
            # and date parsing each cost the read a tenth more CPU (benchmarks/README.md).
            as_read = {
                name: pl.String() if kind == pl.Date else kind for name, kind in self.schema.items()
            }
            return pl.scan_csv(self.path, schema=as_read, truncate_ragged_lines=False)
        if self.format == "jsonl":
            return pl.scan_ndjson(self.path, schema=dict(self.schema))
        frame = pl.scan_parquet(self.path)
        # Integers may stand in for floats; every other type matched exactly when opened.
        widened = [
            pl.col(name).cast(pl.Float64)
            for name, kind in self.declared.items()
            if kind == "float" and self.schema[name] != pl.Float64
        ]
        return frame.with_columns(widened) if widened else frame

    def _finish(self, batch: pl.DataFrame) -> pl.DataFrame:
        """A CSV batch as the schema says. CSV has no null: an empty field is a missing
        value, quoted ("") or not (Polars reads an unquoted one as null already)."""
        fixed: list[pl.Series | pl.Expr] = []
        for name in batch.columns:
            kind = self.schema[name]
            if kind == pl.Date:
                values = batch.get_column(name)
                dates = kernels.iso_dates(values)
                fixed.append(_polars_dates(values) if dates is None else dates)
            elif kind == pl.String and kernels.any_empty(batch.get_column(name)):
                fixed.append(_empty_as_missing(pl.col(name)).alias(name))
        return batch.with_columns(fixed) if fixed else batch

    def _explain(self, error: pl.exceptions.PolarsError) -> str:
        """What went wrong, found again by a slower reader that can say where; Polars'
        own message may quote a value, so it is never shown whole."""
        text = str(error)
        if self.format == "jsonl":
            found = jsonl_problem(self.path, self.name)
            if found:
                return found
        if self.format != "parquet" and ("utf-8" in text.lower() or "utf8" in text.lower()):
            return utf8_problem(self.path, self.name) or f"{self.name}: {first_line(text)}"
        if self.format == "csv" and "more fields" in text:
            return ragged_problem(self.path, self.name) or f"{self.name}: {first_line(text)}"
        if "parse" in text or "cast" in text or "conversion" in text:
            found = self._type_problem()
            if found:
                return found
        return (
            f"{self.name} cannot be read as {self.format.upper()}: {first_line(text)}; "
            "check the file (or set format in the manifest)"
        )

    def _type_problem(self) -> str | None:
        """The first declared column with a value that is not of its type, read again as text."""
        if self.format == "parquet" or not self.declared:
            return None
        as_text = {name: pl.String() for name in self.schema}
        frame = (
            pl.scan_csv(self.path, schema=as_text, null_values=[""])
            if self.format == "csv"
            else pl.scan_ndjson(self.path, schema=as_text)
        )
        names = list(self.declared)
        offset = 0
        try:
            for batch in frame.select(names).collect_batches(chunk_size=BATCH_ROWS):
                for name in names:
                    raw = batch.get_column(name)
                    parsed = _parse_text(raw, self.declared[name])
                    bad = (parsed.is_null() & raw.is_not_null()).arg_true()
                    if len(bad):
                        row = offset + int(bad[0]) + 1
                        value = str(raw[int(bad[0])])
                        return (
                            f"{self.name}: column {column_name(name)} is declared "
                            f"{self.declared[name]}, but row {row} holds {shown(value)}; "
                            "fix the value or the type in checks.columns"
                        )
                offset += batch.height
        except pl.exceptions.PolarsError:
            return None
        return None


@contextmanager
def open_table(
    path: Path, name: str, file_format: DataFormat, declared: Mapping[str, ColumnType]
) -> Iterator[Table]:
    """The file at ``path`` ready to read; refuses a missing or empty file, a missing
    declared column and a Parquet column of another type."""
    problem = not_a_file_problem(path, name)
    if problem:
        raise DataFileError(problem)
    if path.stat().st_size == 0:
        raise DataFileError(f"{name} is empty; a data set needs at least one row")
    with _unpacked(path, name) as readable:
        identity = identity_of(readable)
        schema = _schema(readable, name, file_format, declared)
        check_declared(name, schema, declared)
        yield Table(name, readable, file_format, schema, declared, identity)


def check_declared(
    name: str, schema: Mapping[str, pl.DataType], declared: Mapping[str, ColumnType]
) -> None:
    """Refuses a schema without a declared column, or with one of another type."""
    missing = [column for column in declared if column not in schema]
    if missing:
        raise DataFileError(
            f"{name} has no column {', '.join(column_name(m) for m in missing)} "
            f"(checks.columns declares it); its columns are {column_names(schema)}"
        )
    wrong = [
        f"{column_name(c)} is {schema[c]}, not {kind}"
        for c, kind in declared.items()
        if not _type_fits(schema[c], kind)
    ]
    if wrong:
        raise DataFileError(
            f"{name} has a different schema than checks.columns declares: {'; '.join(wrong)}; "
            "write the file with the declared types or fix checks.columns"
        )


def _schema(
    path: Path, name: str, file_format: DataFormat, declared: Mapping[str, ColumnType]
) -> dict[str, pl.DataType]:
    try:
        if file_format == "csv":
            check_csv_header(path, name)
            header = pl.scan_csv(path, infer_schema=False).collect_schema()
            return {c: POLARS_TYPES[declared[c]] if c in declared else pl.String() for c in header}
        if file_format == "jsonl":
            overrides = {c: POLARS_TYPES[kind] for c, kind in declared.items()}
            inferred = pl.scan_ndjson(path, infer_schema_length=1000).collect_schema()
            return {**dict(inferred), **{c: t for c, t in overrides.items() if c in inferred}}
        return dict(pl.scan_parquet(path).collect_schema())
    except pl.exceptions.PolarsError as error:
        text = str(error).lower()
        if file_format == "jsonl":
            found = jsonl_problem(path, name)
            if found:
                raise DataFileError(found) from None
        if file_format != "parquet" and ("utf-8" in text or "utf8" in text):
            raise DataFileError(utf8_problem(path, name) or f"{name} is not UTF-8") from None
        raise DataFileError(
            f"{name} cannot be read as {file_format.upper()}: {first_line(str(error))}; "
            "check the file (or set format in the manifest)"
        ) from None


def _type_fits(stored: pl.DataType, kind: ColumnType) -> bool:
    """Whether a column stored as ``stored`` (Parquet's, or an engine's) holds ``kind``."""
    if kind == "float":
        return stored.is_float() or stored.is_integer()
    if kind == "int":
        return stored.is_integer()
    if kind == "string":
        return stored == pl.String or isinstance(stored, pl.Categorical | pl.Enum)
    if kind == "datetime":
        return isinstance(stored, pl.Datetime)
    return bool(stored == POLARS_TYPES[kind])


@contextmanager
def _unpacked(path: Path, name: str) -> Iterator[Path]:
    if path.suffix != ".gz":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="mlops-ci-data-") as folder:
        target = Path(folder, path.stem)
        before = identity_of(path)
        try:
            with gzip.open(path, "rb") as source, target.open("wb") as sink:
                _copy_lines_bounded(source, sink, name)
        except (OSError, EOFError) as error:
            if _identity_or_none(path) != before:
                raise DataFileError(_changed(name)) from None
            raise DataFileError(f"{name} is not a readable gzip file ({error})") from None
        if _identity_or_none(path) != before:
            raise DataFileError(_changed(name))
        yield target


MAX_PACKED_LINE = 16 << 20
_UNPACK_CHUNK = 1 << 20


def _copy_lines_bounded(source: gzip.GzipFile, sink: IO[bytes], name: str) -> None:
    """Unpacks ``source`` into ``sink``, refusing a line longer than MAX_PACKED_LINE: a few
    hundred KiB of gzip can hold a line of hundreds of MiB, which a reader holds whole (and
    several times over). Only a line across chunks can be that long: one look a chunk."""
    line, run = 1, 0  # the line being read, and the bytes of it seen so far
    while chunk := source.read(_UNPACK_CHUNK):
        first = chunk.find(b"\n")
        if first < 0:
            run += len(chunk)
        else:
            if run + first > MAX_PACKED_LINE:
                break
            line += chunk.count(b"\n")
            run = len(chunk) - 1 - chunk.rfind(b"\n")
        if run > MAX_PACKED_LINE:
            break
        sink.write(chunk)
    else:
        return
    raise DataFileError(
        f"{name}:{line}: a line longer than {MAX_PACKED_LINE >> 20} MiB unpacked; no row of a "
        "data set is that long, so the file is refused before it is read whole"
    )


def _identity_or_none(path: Path) -> FileIdentity | None:
    try:
        return identity_of(path)
    except OSError:
        return None


def _changed(name: str) -> str:
    return f"{name} changed while it was unpacked; run again once nothing writes to it"


def _empty_as_missing(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.len_bytes() == 0).then(None).otherwise(text)


def _polars_dates(values: pl.Series) -> pl.Series:
    """Dates in a form other than YYYY-MM-DD, as Polars' CSV reader would parse them (its
    error, a conversion, sends _explain to find the row)."""
    text = pl.select(_empty_as_missing(pl.lit(values))).to_series()
    return text.str.to_date(strict=True).alias(values.name)


def _parse_text(raw: pl.Series, kind: ColumnType) -> pl.Series:
    if kind == "bool":
        lowered = raw.str.to_lowercase()
        return (
            pl.select(
                pl.when(lowered == "true")
                .then(True)
                .when(lowered == "false")
                .then(False)
                .otherwise(None)
            )
            .to_series()
            .alias(raw.name)
        )
    if kind in ("date", "datetime"):
        # Text no longer casts to a date: the form is inferred from the values, and where
        # none fits (a batch of bad dates) they are held to ISO 8601.
        parse = raw.str.to_date if kind == "date" else raw.str.to_datetime
        iso = "%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%S%.f"
        try:
            return parse(strict=False)
        except pl.exceptions.PolarsError:
            return parse(iso, strict=False)
    return raw.cast(POLARS_TYPES[kind], strict=False)
