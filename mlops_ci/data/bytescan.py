"""Questions about every byte of a text column at once, answered from its Arrow buffers.

Per-value regular expressions cost some 25 ns a value however short it is; most columns hold
no byte a rule could match (no digit, no ``@``), and a look at all the bytes together says so
at memory speed (numpy compares the buffers in place; ``binascii.unhexlify`` reads them
without a copy). The answers are conservative: "no" from ``may_contain`` and "yes" from ``all_hex``
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
    """False only when no value holds a byte from the smallest to the largest of ``wanted``
    (the PII rules' bytes, digits to ``@``, make one narrow range)."""
    array = _one_array(values)
    if array is None or not wanted or min(wanted) == 0:
        return True
    low, span = np.uint8(min(wanted)), np.uint8(max(wanted) - min(wanted))
    buffers = array.buffers()
    for buffer in buffers[2:]:
        if buffer is not None and _any_between(np.frombuffer(buffer, np.uint8), low, span):
            return True
    return _short_value_between(array, low, span)


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


def _any_between(data: npt.NDArray[np.uint8], low: np.uint8, span: np.uint8) -> bool:
    # Bytes below ``low`` wrap around to large numbers: one comparison tests the range.
    return bool(((data - low) <= span).any())


def _short_value_between(array: pa.Array, low: np.uint8, span: np.uint8) -> bool:
    """Whether a value of at most 12 bytes, held in its 16-byte view after the 4-byte length,
    has a byte in the range. The bytes after a short value are zero (and ``low`` is not);
    the views of long values (a prefix, a buffer number, an offset) are masked out."""
    views = np.frombuffer(array.buffers()[1], np.uint8)[: len(array) * 16]
    hits = np.subtract(views, low)
    in_range = np.less_equal(hits, span, out=hits.view(np.bool_))
    words = in_range.view("<u8").reshape(-1, 2)
    # Per view: the high half of the first word is bytes 4-7, the second word bytes 8-15.
    rows = ((words[:, 0] >> np.uint64(32)) | words[:, 1]) != 0
    return bool((rows & _short(array)).any())
