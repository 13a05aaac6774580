"""The ingest checks' per-value loops: compiled (``_kernels.c``) where the install could build
it, otherwise the same answers from Polars and numpy, slower.

Which one runs is settled once per process (``COMPILED``), so every hash a run compares was
made by the same function. The compiled loops read a Polars text column's Arrow string
views and data buffers in place, through the Arrow PyCapsule stream (``__arrow_c_stream__``).
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import polars as pl

Hashes = npt.NDArray[np.uint64]
Codes = npt.NDArray[np.uint8]
DIGEST_LENGTHS = (40, 64, 128)  # hex digits of sha1, sha256, sha512
MAX_CODES = 250
MISSING = 254  # the code of a missing value
OTHER = 255  # the code of a value not in the list


try:
    from mlops_ci.data import _kernels
except ImportError:  # no C compiler where it was installed
    _kernels = None  # type: ignore[assignment]

# MLOPS_CI_PURE_PYTHON=1 runs the equivalents, to compare or to rule the extension out.
COMPILED = _kernels is not None and not os.environ.get("MLOPS_CI_PURE_PYTHON")


def hashes(values: pl.Series, seed: int, room: Hashes | None = None) -> Hashes:
    """A 64-bit hash of every value that is not missing, in order: XXH3 of a text's UTF-8
    bytes (XXH64 past 240 bytes) when compiled, Polars' own hash otherwise (and for every
    other type). ``room``, when large enough, holds the answer (fresh memory costs a page
    fault every 4 KiB)."""
    if not COMPILED or values.dtype != pl.String:
        found: Hashes = values.drop_nulls().hash(seed).to_numpy()
        return found
    out = _room(room, len(values) - values.null_count())
    _kernels.hash_views(values, out, seed)
    return out


def all_digests(values: pl.Series) -> bool:
    """Whether every value that is not missing is a sha1, sha256 or sha512 hex digest (True
    is exact; False may also mean "look value by value")."""
    if not COMPILED or values.dtype != pl.String:
        present = values.drop_nulls()
        lengths = present.cast(pl.String).str.len_bytes()
        if not lengths.is_in(pl.Series(DIGEST_LENGTHS).implode()).all():
            return False
        from mlops_ci.data import bytescan  # it imports pyarrow

        return bytescan.all_hex(present)
    return _kernels.hex_digests(values, DIGEST_LENGTHS)


def may_contain(values: pl.Series, wanted: bytes) -> bool:
    """False only when no value holds a byte from the smallest to the largest of ``wanted``
    (the personal-data rules' bytes, digits to ``@``, make one narrow range)."""
    if not COMPILED or values.dtype != pl.String or not wanted or max(wanted) >= 0x80:
        from mlops_ci.data import bytescan

        return bytescan.may_contain(values, wanted)
    return _kernels.may_contain(values, min(wanted), max(wanted))


def any_empty(values: pl.Series) -> bool:
    """Whether a text that is not missing is empty."""
    if not COMPILED:
        return bool((values.str.len_bytes() == 0).any())
    return _kernels.any_empty(values)


def iso_dates(values: pl.Series) -> pl.Series | None:
    """The texts as dates, empty ones missing, when every other is YYYY-MM-DD (a real date
    of the years 1 to 9999); None when one is not, or when not compiled (Polars' own,
    slower parser then decides)."""
    if not COMPILED:
        return None
    days = np.empty(len(values), np.int32)
    missing = np.empty(len(values), np.bool_)
    if _kernels.iso_dates(values, days, missing.view(np.uint8)) >= 0:
        return None
    dates = pl.Series(values.name, days, dtype=pl.Int32).cast(pl.Date)
    return dates.scatter(np.flatnonzero(missing), None) if missing.any() else dates


def codes(values: pl.Series, wanted: pl.Series) -> Codes:
    """Each value's index in ``wanted`` (the first equal one; at most MAX_CODES of them, of
    the column's type), OTHER where it is in none, MISSING where it is missing."""
    if len(wanted) > MAX_CODES:
        raise ValueError(f"codes: at most {MAX_CODES} values, not {len(wanted)}")
    if COMPILED and values.dtype == pl.String and wanted.dtype == pl.String:
        found: Codes = np.empty(len(values), np.uint8)
        _kernels.codes(values, [text.encode() for text in wanted.to_list()], found)
        return found
    code = pl.lit(OTHER, pl.UInt8)
    for index, value in reversed(list(enumerate(wanted))):
        code = pl.when(pl.col("v") == value).then(pl.lit(index, pl.UInt8)).otherwise(code)
    code = pl.when(pl.col("v").is_null()).then(pl.lit(MISSING, pl.UInt8)).otherwise(code)
    numbered: Codes = pl.DataFrame({"v": values}).select(code).to_series().to_numpy()
    return numbered


def partition(
    hashes: Hashes, bits: int, room: Hashes | None = None
) -> tuple[Hashes, npt.NDArray[np.int64]]:
    """The hashes grouped by their top ``bits``: partition p is
    ``ordered[bounds[p]:bounds[p + 1]]`` (in ``room`` when it is large enough)."""
    parts = 1 << bits
    if COMPILED:
        ordered = _room(room, len(hashes))
        bounds = np.empty(parts + 1, np.int64)
        _kernels.partition(np.ascontiguousarray(hashes), bits, ordered, bounds)
        return ordered, bounds
    # Small unsigned keys: numpy sorts them by radix, in linear time.
    keys = (hashes >> np.uint64(64 - bits)).astype(np.uint8 if bits <= 8 else np.uint16)
    order = np.argsort(keys, kind="stable")
    edges = np.searchsorted(keys[order], np.arange(parts + 1)).astype(np.int64)
    return hashes[order], edges


def repeats(hashes: Hashes, limit: int) -> tuple[int, Hashes]:
    """How many hashes repeat an earlier one, and up to ``limit`` of the repeated hashes."""
    if COMPILED:
        count, found = _kernels.repeats(np.ascontiguousarray(hashes), limit)
        return int(count), np.frombuffer(found, np.uint64).copy()
    # Polars counts distinct values on every core; sorting is for when some repeat.
    if len(hashes) < 2 or pl.Series(hashes).n_unique() == len(hashes):
        return 0, np.empty(0, np.uint64)
    ordered = np.sort(hashes)
    same = ordered[1:] == ordered[:-1]
    return int(same.sum()), np.unique(ordered[1:][same])[:limit]


def _room(room: Hashes | None, size: int) -> Hashes:
    if room is not None and len(room) >= size:
        return room[:size]
    return np.empty(size, np.uint64)
