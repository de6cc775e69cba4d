"""Element types that kernels hold as bit patterns: numpy's ml_dtypes types (bfloat16, float8,
float4, int4, int2), one element per unsigned storage element of the same size (uint16 for
bfloat16, uint8 for the rest; never packed). The caller's arrays of these types go in and come
out as such; buffers, weights and kernels see the storage type.

The rule is by origin, not a table, so the runtime needs nothing from the compiler: a dtype
whose scalar type ml_dtypes defines (numpy's kind says nothing: float8_e5m2 reads 'f', the others
'V').
"""
from __future__ import annotations

import ml_dtypes  # noqa: F401  (registers the type names with numpy)
import numpy as np


def is_bit_pattern(dtype: "str | np.dtype") -> bool:
    return np.dtype(dtype).type.__module__.split(".")[0] == "ml_dtypes"


def storage_dtype(dtype: "str | np.dtype") -> str:
    """The dtype that holds elements of `dtype` in buffers."""
    dtype = np.dtype(dtype)
    return f"uint{8 * dtype.itemsize}" if is_bit_pattern(dtype) else str(dtype)


def as_storage(array: np.ndarray) -> np.ndarray:
    """The array's bits as its storage type (a view; other arrays as they are)."""
    return array.view(storage_dtype(array.dtype)) if is_bit_pattern(array.dtype) else array


def as_element_type(array: np.ndarray, dtype: str) -> np.ndarray:
    """Storage bits back as `dtype` elements (a view)."""
    return array.view(np.dtype(dtype)) if is_bit_pattern(dtype) else array
