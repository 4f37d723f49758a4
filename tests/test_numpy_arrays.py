"""Arrow arrays to and from NumPy through their buffers (what the columnar path uses instead of pa.array)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipelines.usercom.flatten.fields import TIMESTAMP
from pipelines.usercom.flatten.numpy_arrays import from_numpy, numbers, repeated_timestamp, valid


def test_numbers_and_valid_follow_a_sliced_array_with_nulls():
    array = pa.array([1, None, 3, 4, None, 6, 7, 8, 9, None], pa.int64()).slice(3, 6)  # 4, None, 6, 7, 8, 9
    assert numbers(array, np.int64)[[0, 2, 3, 4, 5]].tolist() == [4, 6, 7, 8, 9]
    assert valid(array).tolist() == [True, False, True, True, True, True]
    assert valid(pa.array([1, 2], pa.int64())).tolist() == [True, True]


def test_valid_of_a_list_array_marks_null_lists_not_empty_ones():
    lists = pa.array([[1], None, [], [2, 3], None], pa.list_(pa.int64()))
    assert valid(lists).tolist() == [True, False, True, True, False]
    lengths = np.where(valid(lists), numbers(lists.value_lengths(), np.int32), 0)
    assert lengths.tolist() == [1, 0, 0, 2, 0]


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 1000])
def test_from_numpy_equals_pa_array(size):
    rng = np.random.default_rng(size)
    values = rng.integers(-2**62, 2**62, size, dtype=np.int64)
    mask = rng.random(size) < 0.3
    flags = rng.random(size) < 0.5
    assert from_numpy(values, pa.int64()).equals(pa.array(values, pa.int64()))
    assert from_numpy(values, pa.int64(), mask=mask).equals(pa.array(values, pa.int64(), mask=mask))
    assert from_numpy(flags, pa.bool_()).equals(pa.array(flags, pa.bool_()))
    assert from_numpy(values[::3], pa.int64()).equals(pa.array(values[::3], pa.int64()))  # a strided view is copied


def test_repeated_timestamp():
    stamps = repeated_timestamp(1_700_000_000_123_456, TIMESTAMP, 3)
    assert stamps.type == TIMESTAMP and stamps.to_pylist() == [pa.scalar(1_700_000_000_123_456, TIMESTAMP).as_py()] * 3
