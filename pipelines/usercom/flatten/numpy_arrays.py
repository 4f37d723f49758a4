"""Arrow arrays to and from NumPy through their buffers.

Not `Array.to_numpy()`, `pa.array()` or `pa.scalar()`: on their first call pyarrow imports pandas to ask whether
the input is a pandas object, 31 MB resident and 0.2-0.5 s inside the first listing's extract, for nothing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.types as pat


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
    validity = None if mask is None or not mask.any() else pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.Array.from_buffers(arrow_type, len(values), [validity, data], null_count=-1 if validity else 0)


def repeated_timestamp(micros: int, arrow_type: pa.DataType, count: int) -> pa.Array:
    """`count` copies of one timestamp (µs since the epoch) as an array of `arrow_type`."""
    return from_numpy(np.full(count, micros, np.int64), pa.int64()).cast(arrow_type)
