"""MatMulIntegerPacked: int32 Y [M, N] = (A - a_zero_point) @ w8, A uint8 [M, K], w8 = B -
b_zero_point of a constant B packed at compile time (schedules/cpu/integer_matmul_packed.py; the
pack_integer_matmul pass makes it from a MatMulInteger).

Inputs: A, the packed w8 int8 [N/16, K/4, 64], its column sums int32 [N], a_zero_point uint8
(0-d; the pass gives a constant 0 where the MatMulInteger had none).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.cpu.integer_matmul_packed import LANES
from convrnn.schedules.registry import OpDef, register


@register
class MatMulIntegerPacked(OpDef):
    name = "MatMulIntegerPacked"

    def infer(self, inputs, attrs):
        a, packed, sums, zero = inputs
        if a.dtype != "uint8" or a.rank != 2 or not isinstance(a.shape[1], int):
            raise ValueError(f"A must be uint8 [M, K] with a static K, got {a}")
        k, n = a.shape[1], sums.shape[0] if sums.rank == 1 else None
        if sums.dtype != "int32" or not isinstance(n, int):
            raise ValueError(f"the column sums must be int32 [N], got {sums}")
        if packed.dtype != "int8" or tuple(packed.shape) != (n // LANES, k // 4, 4 * LANES):
            raise ValueError(f"the packed B {packed} is not int8[{n // LANES},{k // 4},{4 * LANES}]")
        if zero.dtype != "uint8" or zero.rank != 0:
            raise ValueError(f"a_zero_point must be a uint8 scalar, got {zero}")
        return [TensorType((a.shape[0], n), "int32")]
