"""Arrow arrays to and from NumPy through their buffers, and from Python lists the same way.

Not `Array.to_numpy()`, `pa.array()`, `pa.scalar()` or a Python value given to a compute function: on their first
call pyarrow imports pandas to ask whether the input is a pandas object, 31-42 MB resident and 0.2-0.5 s inside the
first listing's extract, for nothing; and on a listing's thread that import races dlt's extract, which looks up
`sys.modules["pandas"]` on the main thread and fails on the half-imported module (tests/test_listing_threads.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.types as pat

from pipelines.usercom.times import to_micros

_MAX_STRING_BYTES = 2**31 - 1  # what 32-bit offsets reach: past it, a column is cut in chunks as `pa.array` cuts it


def numbers(array: pa.Array, dtype: type) -> np.ndarray:
    """The values of a primitive Arrow array (nulls' slots as they are), as a NumPy view of its buffer."""
    return np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * np.dtype(dtype).itemsize)


def valid(array: pa.Array) -> np.ndarray:
    """Which slots of `array` hold a value, as a NumPy bool array."""
    bitmap = array.buffers()[0]
    if bitmap is None or array.null_count == 0:
        return np.ones(len(array), bool)
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8), bitorder="little")
    return bits[array.offset:array.offset + len(array)].astype(bool)


def from_numpy(values: np.ndarray, arrow_type: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """A primitive (or bool) Arrow array of `values`; `mask` marks the nulls."""
    if pat.is_boolean(arrow_type):
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values, arrow_type.to_pandas_dtype()))
    return pa.Array.from_buffers(arrow_type, len(values), [_validity(mask), data], null_count=-1 if mask is not None
                                 and mask.any() else 0)


def repeated_timestamp(micros: int, arrow_type: pa.DataType, count: int) -> pa.Array:
    """`count` copies of one timestamp (µs since the epoch) as an array of `arrow_type`."""
    return from_numpy(np.full(count, micros, np.int64), pa.int64()).cast(arrow_type)


def from_values(values: Sequence, arrow_type: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """The Arrow array `pa.array(values, arrow_type)` builds from Python values (None for null) of a bigint (int),
    double (float or int), bool, text (str) or timestamp (aware datetime, or int µs since the epoch) column.
    Raises TypeError for a value of another kind, OverflowError for an int beyond 64 bits, and UnicodeEncodeError
    for text that is not valid Unicode (a lone surrogate)."""
    kinds = set(map(type, values))
    mask = np.array([v is None for v in values], bool) if _NONE in kinds else None
    kinds.discard(_NONE)
    if pat.is_string(arrow_type):
        return _strings(values if mask is None else ["" if v is None else v for v in values], mask)
    if pat.is_timestamp(arrow_type):
        if not kinds <= {int, datetime}:
            raise TypeError(f"{_names(kinds)} given for timestamps")
        micros = [0 if v is None else v if type(v) is int else to_micros(v) for v in values]
        return from_numpy(np.array(micros, np.int64), pa.int64(), mask).cast(arrow_type)
    allowed = _NUMBER_KINDS.get(arrow_type)
    if allowed is None:
        raise TypeError(f"no conversion of Python values to {arrow_type}")
    if not kinds <= allowed:
        raise TypeError(f"{_names(kinds)} given for {arrow_type}")
    dtype = np.bool_ if pat.is_boolean(arrow_type) else arrow_type.to_pandas_dtype()
    filled = values if mask is None else [False if v is None else v for v in values]
    return from_numpy(np.array(filled, dtype), arrow_type, mask)


_NONE = type(None)
_NUMBER_KINDS = {pa.int64(): {int}, pa.float64(): {float, int}, pa.bool_(): {bool}}  # a bool is not an int here


def _names(kinds: set[type]) -> str:
    return ", ".join(sorted(k.__name__ for k in kinds))


def _strings(texts: Sequence[str], mask: np.ndarray | None) -> pa.Array | pa.ChunkedArray:
    joined = "".join(texts)  # TypeError for a value that is not str
    data = joined.encode()
    if len(data) == len(joined):  # ASCII only: a character is a byte
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    else:
        lengths = np.fromiter(map(len, map(str.encode, texts)), np.int64, len(texts))
    if len(data) > _MAX_STRING_BYTES:
        if len(texts) == 1:
            raise OverflowError("a text value beyond 2 GB")
        half = len(texts) // 2
        parts = [_strings(texts[:half], None if mask is None else mask[:half]),
                 _strings(texts[half:], None if mask is None else mask[half:])]
        return pa.chunked_array([c for p in parts for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])])
    offsets = np.zeros(len(texts) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:], dtype=np.int32)
    buffers = [_validity(mask), pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(texts), buffers, null_count=-1 if mask is not None and mask.any() else 0)


def _validity(mask: np.ndarray | None) -> pa.Buffer | None:
    return None if mask is None or not mask.any() else pa.py_buffer(np.packbits(~mask, bitorder="little"))
