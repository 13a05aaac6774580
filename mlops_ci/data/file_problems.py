"""What is wrong with a data file, in one sentence naming the file and its line, row or
column: bytes that are not UTF-8, a ragged row, a header that is none; values and column
names shown short, and masked where they hold personal data."""

from __future__ import annotations

import codecs
import errno
import gzip
import json
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from mlops_ci.core.pii import ALL_KINDS, found_kinds, mask, scrubbed
from mlops_ci.errors import ExitStatus, MlopsCiError

_MAX_NAME = 60


class DataFileError(MlopsCiError):
    """A data file that cannot be read as the manifest says: missing, empty, malformed."""

    exit_status = ExitStatus.BAD_INPUT


def check_csv_header(path: Path, name: str) -> None:
    """The header line: UTF-8 and of sane length (a file with no line breaks at all is not
    a CSV, and its one "column name" must not end up in a message)."""
    with path.open("rb") as handle:
        head = handle.readline(1 << 20)
    if not head.endswith(b"\n") and len(head) == 1 << 20:
        raise DataFileError(
            f"{name}: the first line is longer than 1 MiB, so this is no CSV header; "
            "check the file (or set format in the manifest)"
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"{name}:1: bytes that are not UTF-8 (at byte {error.start + 1}); "
            "save the file as UTF-8"
        ) from None


def utf8_problem(path: Path, name: str) -> str | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as error:
                return (
                    f"{name}:{number}: bytes that are not UTF-8 (at byte "
                    f"{offset + error.start + 1}); save the file as UTF-8"
                )
            offset += len(line)
    return None


def ragged_problem(path: Path, name: str) -> str | None:
    """The first row with more fields than the header, counted a chunk at a time: a row of
    millions of commas (a few hundred KiB of gzip) must not become a list of millions of
    fields. Commas and line breaks inside quotes separate nothing; a row's line is its last."""
    fields, line, quoted, header = 1, 1, False, None
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            for index, piece in enumerate(chunk.split(b'"')):
                if index:
                    quoted = not quoted  # a doubled quote inside quotes toggles twice
                if quoted:
                    line += piece.count(b"\n")
                    continue
                rows = piece.split(b"\n")
                for number, part in enumerate(rows):
                    fields += part.count(b",")
                    if number == len(rows) - 1:
                        break  # the row goes on past this piece
                    if header is None:
                        header = fields
                    elif fields > header:
                        return _ragged(name, line, fields, header)
                    fields, line = 1, line + 1
    if header is not None and fields > header:
        return _ragged(name, line, fields, header)
    return None


_CHUNK = 1 << 20


def _ragged(name: str, line: int, fields: int, header: int) -> str:
    return (
        f"{name}:{line}: this row has {fields:,} fields, the header {header}; quote values "
        "that hold commas, or fix the row"
    )


def first_line(text: str) -> str:
    """A library's message, first line only, with any quoted value left out and any
    personal data it still holds masked."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return scrubbed(re.sub(r"`[^`]*`", "`…`", line))[:200]


def column_name(column: str) -> str:
    """A column's name, which the data's header gives, masked as any value would be."""
    if found_kinds(column, ALL_KINDS):
        return mask(column)
    return repr(column if len(column) <= _MAX_NAME else column[: _MAX_NAME - 3] + "...")


def column_names(schema: Mapping[str, object]) -> str:
    names = [column_name(c) for c in list(schema)[:20]]
    more = len(schema) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def not_a_file_problem(path: Path, name: str) -> str | None:
    """Why ``path`` is no data file to read (missing, a link to nowhere or in a loop, a
    folder, a FIFO or a device: a FIFO would block the read for ever), or None."""
    try:
        found = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"{name} is a link to nothing; fix the link or data[].path in the manifest"
        return f"{name} does not exist; add it, or fix data[].path in the manifest"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{name} is a link in a loop of links; point it at a file"
        return f"{name} cannot be opened ({error.strerror}); check the file"
    if stat.S_ISREG(found.st_mode):
        return None
    kind = (
        "a folder"
        if stat.S_ISDIR(found.st_mode)
        else "a FIFO (a pipe)"
        if stat.S_ISFIFO(found.st_mode)
        else "a socket"
        if stat.S_ISSOCK(found.st_mode)
        else "a device"
    )
    return f"{name} is {kind}, not a file; point data[].path at a data file"


def jsonl_problem(path: Path, name: str) -> str | None:
    """The first line of a JSONL file that is not a JSON object, numbered, or None."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                where = (
                    f" at column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
                )
                return (
                    f"{name}:{number}: this line is not JSON{where}; write one JSON object a line"
                )
            if not isinstance(record, dict):
                return (
                    f"{name}:{number}: this line is JSON but not an object; write one JSON "
                    "object a line"
                )
    return None
