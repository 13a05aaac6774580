"""Questions about every byte of a text column at once, answered from its Arrow buffers.

Per-value regular expressions cost some 25 ns a value however short it is; most columns hold
no byte a rule could match (no digit, no ``@``), and a look at all the bytes together says so
at memory speed (``bytes.find`` is memchr, ``bytes.translate`` a table walk). The answers are
conservative: "no" from ``may_contain`` and "yes" from ``only_contains`` are exact; anything
else (a layout this code does not know, padding or bytes the buffers hold beyond the values)
sends the caller to the per-value rules.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

_INLINE = 12  # an Arrow string view holds values of up to 12 bytes in the view itself


def may_contain(values: pl.Series, wanted: bytes) -> bool:
    """False only when no value holds a byte of ``wanted``."""
    parts = _byte_parts(values, wanted_above=min(wanted, default=0))
    if parts is None:
        return True
    return any(part.find(byte) >= 0 for part in parts for byte in set(wanted))


def only_contains(values: pl.Series, allowed: bytes) -> bool:
    """True only when every value is longer than 12 bytes and every byte is in ``allowed``."""
    parts = _byte_parts(values, wanted_above=None)
    if parts is None:
        return False
    return all(not part.translate(None, allowed) for part in parts)


def _byte_parts(values: pl.Series, *, wanted_above: int | None) -> list[bytes] | None:
    """Every byte of the values (and maybe some more), or None for an unknown layout.

    Short values sit in their 16-byte views after a 4-byte length; with ``wanted_above``
    None they make the answer None, else (when every value is short and the smallest wanted
    byte is above any length) the whole view buffer is searched as it is."""
    array = values.to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks != 1:
            return None
        array = array.chunk(0)
    if array.type != pa.string_view() or array.offset:
        return None
    buffers = array.buffers()
    rows = len(array)
    view_bytes = np.frombuffer(buffers[1], dtype=np.uint8)[: rows * 16]
    lengths = view_bytes.view("<u4")[::4]
    short = lengths <= _INLINE
    parts = [bytes(b) for b in buffers[2:] if b is not None]
    if short.any():
        if wanted_above is None:
            return None
        if short.all() and wanted_above > _INLINE:
            parts.append(view_bytes.tobytes())
        else:
            parts.append(view_bytes.reshape(-1, 16)[short, 4:].tobytes())
    return parts
