"""Questions about every byte of a text column at once, answered from its Arrow buffers.

Per-value regular expressions cost some 25 ns a value however short it is; most columns hold
no byte a rule could match (no digit, no ``@``), and a look at all the bytes together says so
at memory speed (``bytes.find`` is memchr; ``binascii.unhexlify`` reads the buffers in
place). The answers are conservative: "no" from ``may_contain`` and "yes" from ``all_hex``
are exact; anything else (a layout this code does not know, padding or bytes the buffers
hold beyond the values) sends the caller to the per-value rules.
"""

from __future__ import annotations

import binascii

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

_INLINE = 12  # an Arrow string view holds values of up to 12 bytes in the view itself


def may_contain(values: pl.Series, wanted: bytes) -> bool:
    """False only when no value holds a byte of ``wanted``."""
    array = _one_array(values)
    if array is None:
        return True
    found = _all_bytes(array, wanted_above=min(wanted, default=0))
    # One pass that drops the wanted bytes: if nothing was dropped, none was there.
    return len(found.translate(None, wanted)) != len(found)


def all_hex(values: pl.Series) -> bool:
    """True only when every value is longer than 12 bytes and made of hex digits."""
    array = _one_array(values)
    if array is None or _short(array).any():
        return False
    for buffer in array.buffers()[2:]:
        if buffer is None:
            continue
        view = memoryview(buffer)
        if len(view) % 2:
            return False
        try:
            binascii.unhexlify(view)  # C speed, no copy of the input; refuses non-hex
        except binascii.Error:
            return False
    return True


def _one_array(values: pl.Series) -> pa.Array | None:
    """The values as one Arrow string-view array (measured: faster than chunk by chunk,
    whose chunks share buffers), or None for another layout."""
    array = values.to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks != 1:
            return None
        array = array.chunk(0)
    if array.type != pa.string_view() or array.offset:
        return None
    return array


def _short(array: pa.Array) -> npt.NDArray[np.bool_]:
    lengths = np.frombuffer(array.buffers()[1], dtype="<u4")[: len(array) * 4][::4]
    short: npt.NDArray[np.bool_] = lengths <= _INLINE
    return short


def _all_bytes(array: pa.Array, *, wanted_above: int) -> bytes:
    """Every byte of the values (and maybe some more) in one string. Short values sit in
    their 16-byte views after a 4-byte length: when every value is short and the smallest
    wanted byte is above any length, the view buffer is taken whole, else the views of the
    short values are picked out."""
    buffers = array.buffers()
    parts: list[memoryview | bytes] = [memoryview(b) for b in buffers[2:] if b is not None]
    short = _short(array)
    if short.any():
        views = np.frombuffer(buffers[1], dtype=np.uint8)[: len(array) * 16]
        if short.all() and wanted_above > _INLINE:
            parts.append(views.data)
        else:
            parts.append(np.compress(short, views.reshape(-1, 16), axis=0)[:, 4:].tobytes())
    return b"".join(parts)
