"""Values as the API sent them → the Arrow type of their column: one coercer per type, the fast paths that let
Arrow build a column in C, and the type a new column gets from its first values."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.usercom.errors import NotCoercible
from pipelines.usercom.flatten.fields import TIMESTAMP
from pipelines.usercom.flatten.numpy_arrays import from_values
from pipelines.usercom.times import parse_iso


def to_int(value: Any) -> int:
    """An integer, from an int, an integral float or a string of digits; bools are refused."""
    if isinstance(value, bool):
        raise NotCoercible(f"{value!r} is a boolean, not an integer")
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return value
        raise NotCoercible(f"{value!r} does not fit in BIGINT")
    if isinstance(value, float) and value.is_integer():
        return to_int(int(value))
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return to_int(int(value))
    raise NotCoercible(f"{_show(value)} is not an integer")


_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")  # ASCII digits only: int() would also take "1_000" and "١٢"
_NUMBER = re.compile(r"\s*-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*")  # a JSON number, as text


def to_float(value: Any) -> float:
    """A float, from an int, a float or a numeric string; bools are refused."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if -(2**53) <= value <= 2**53 or float(value) == value:
            return float(value)
        raise NotCoercible(f"{value} does not fit a double exactly")
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        if number not in (float("inf"), float("-inf")):
            return number
    raise NotCoercible(f"{_show(value)} is not a number")


def to_bool(value: Any) -> bool:
    """A boolean, only from a JSON boolean."""
    if isinstance(value, bool):
        return value
    raise NotCoercible(f"{_show(value)} is not a boolean")


def to_text(value: Any) -> str:
    """A string as it came, or the JSON text of any other value, so nothing is lost."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # nested past orjson's limit, or an int beyond 64 bits (from the lenient parser)
        try:
            return json.dumps(value, ensure_ascii=False)
        except (RecursionError, ValueError):
            raise NotCoercible("a value nested too deeply to store as text") from None


def to_timestamp(value: Any) -> datetime:
    """A UTC datetime from any ISO 8601 form the API may send; a value without zone is taken as UTC."""
    if not isinstance(value, str):
        raise NotCoercible(f"{_show(value)} is not an ISO 8601 timestamp")
    try:
        return parse_iso(value)
    except ValueError:
        raise NotCoercible(f"{_show(value)} is not an ISO 8601 timestamp") from None


# The ISO 8601 form the API sends (date, "T", time to the second with up to 6 decimals, a zone): Arrow's cast
# and `to_timestamp` read it alike. Any other form (no zone, a comma, a space, ...) goes through `to_timestamp`.
API_TIMESTAMP = (r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                 r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
_ARROW_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


def as_arrow(values: list[Any], arrow_type: pa.DataType) -> pa.Array | None:
    """`values` as an Arrow array in C, when every value is already what its coercer returns unchanged (str for
    text, int for bigint); None when any value needs coercion or may not fit, and the caller coerces one by one.

    About 5x faster than coercing each value in Python. Not used for bool and double: Arrow turns 1 into True
    and True into 1.0, which the coercers refuse.
    """
    try:
        if arrow_type == pa.string() or arrow_type == pa.int64():
            return from_values(values, arrow_type)  # only str (or None) passes; only int (never bool or float) in range
    except _ARROW_ERRORS:
        return None
    return None


def timestamps_as_arrow(values: list[Any] | pa.Array) -> tuple[pa.Array, list[int]] | None:
    """Timestamps parsed by Arrow's cast where it can, and the positions of the values left for `to_timestamp`.

    Every form Arrow's cast reads (ISO 8601 with a zone) `to_timestamp` reads to the same instant, but
    for years Python's datetime cannot hold, so a column with those goes to `to_timestamp` whole (None).
    When the cast refuses a value, the values in the API's own form are cast and the rest are returned
    for `to_timestamp` to read (or reject) one by one. None too when a value is not a string.
    """
    try:
        strings = values if isinstance(values, pa.Array) else from_values(values, pa.string())
        if strings.null_count == len(strings):
            return pa.nulls(len(strings), TIMESTAMP), []
        try:
            parsed = strings.cast(TIMESTAMP)
            others: list[int] = []
        except pa.ArrowInvalid:
            fits = pc.match_substring_regex(strings, API_TIMESTAMP)
            others = [i for i, ok in enumerate(fits.to_pylist()) if ok is False]
            parsed = pc.if_else(fits, strings, pa.nulls(len(strings), pa.string())).cast(TIMESTAMP)
        # the µs of every slot (a null slot holds 0, or whatever: then it only costs the slow path)
        micros = np.frombuffer(parsed.buffers()[1], np.int64, len(parsed), parsed.offset * 8)
        if micros.min() < _PYTHON_LOW or micros.max() > _PYTHON_HIGH:
            return None
        return parsed, others
    except _ARROW_ERRORS:
        return None


_PYTHON_LOW = -62135510400_000000  # 0001-01-02, µs since the epoch: Python's datetime holds a day either side
_PYTHON_HIGH = 253402128000_000000  # 9999-12-30


COERCERS: dict[pa.DataType, Callable[[Any], Any]] = {
    pa.int64(): to_int,
    pa.float64(): to_float,
    pa.bool_(): to_bool,
    pa.string(): to_text,
    TIMESTAMP: to_timestamp,
}
VARIANT_SUFFIX = {pa.int64(): "bigint", pa.float64(): "double", pa.bool_(): "bool", pa.string(): "text", TIMESTAMP: "timestamp"}


def infer_type(values: list[Any]) -> pa.DataType:
    """The Arrow type of a new column from its non-null JSON values: bool, bigint, double, else text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int} and all(-(2**63) <= v < 2**63 for v in values if v is not None):
        return pa.int64()
    if kinds and kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def _show(value: Any) -> str:
    text = to_text(value)
    return text if len(text) <= 60 else text[:57] + "..."
