"""The fast CPU kernel of MatMulInteger with a constant B (MatMulIntegerPacked): uint8 A [M, K]
by B shifted by its zero point (int8 w8 = B - b_zero_point) packed once at compile time, its
products as uint8 x int8 dot products of 4 consecutive k into int32 lanes (AVX-512 VNNI's
vpdpbusd where the target has it, the same sums in plain int32 vector arithmetic elsewhere).

Exactness: sum_k (a_k - za) w8_k = sum_k a_k w8_k - za * sum_k w8_k, the last sum a packed
constant per column; integer sums are exact in any order.

Packed layout: columns in vectors of 16, each vector's K/4 groups of 4 k as 64 bytes (16
columns x 4 k) [N/16, K/4, 64] int8; column sums [N] int32. Register tiles: ROWS rows x
COLUMN_VECTORS vectors of columns; a task is one, row blocks outside column groups (tasks in
a row share its A).
"""
from __future__ import annotations

from typing import Any, Optional

from convrnn.schedules.cpu.vnni import vpdpbusd
from convrnn.schedules.implementations import Implementation, implements

LANES = 16
ROWS = 6
COLUMN_VECTORS = 4


def packable(k: int, n: int) -> bool:
    """Whether a [K, N] B fits the packed layout: whole groups of 4 k and vectors of columns."""
    return k > 0 and k % 4 == 0 and n > 0 and n % LANES == 0


def pack_integer_matrix(b, b_zero) -> Optional[tuple[Any, Any]]:
    """B [K, N] (int8 or uint8) and its zero point (None, a scalar or one per column) ->
    (packed int8 [N/16, K/4, 64], column sums int32 [N]) of B - zero point; None when some
    B - zero point does not fit int8."""
    import numpy as np

    k, n = b.shape
    zero = np.zeros((1, n), np.int32) if b_zero is None else np.broadcast_to(
        np.asarray(b_zero, np.int32).reshape(1, -1), (1, n))
    shifted = b.astype(np.int32) - zero
    if shifted.min() < -128 or shifted.max() > 127:
        return None
    w8 = shifted.astype(np.int8)
    sums = w8.astype(np.int32).sum(axis=0, dtype=np.int32)
    # [K/4, 4 k, N/16, 16] -> [N/16, K/4, 16, 4 k]
    packed = w8.reshape(k // 4, 4, n // LANES, LANES).transpose(2, 0, 3, 1)
    return np.ascontiguousarray(packed).reshape(n // LANES, k // 4, 4 * LANES), sums


def _column_vectors(vectors: int) -> int:
    return next(c for c in (COLUMN_VECTORS, 2, 1) if vectors % c == 0)


def packed_integer_matmul_primfunc(k: int, n: int, vnni: bool) -> Any:
    from tvm.script import tirx as T

    K4, NV = k // 4, n // LANES
    CV = _column_vectors(NV)
    GROUPS = NV // CV
    I32 = "int32"

    @T.macro
    def mac(acc, r, v, A, row, k4, WP, vector):
        """acc[r, v, 0:16] += sum over 4 k of A[row, 4 k4 + k] (uint8) * WP[vector, k4, 4 lane + k] (int8)."""
        if vnni:
            acc[r, v, T.ramp(0, 1, LANES)] = vpdpbusd(acc[r, v, T.ramp(0, 1, LANES)], A[row, T.ramp(k4 * 4, 1, 4)],
                                                      WP[vector, k4, T.ramp(0, 1, 4 * LANES)])
        else:
            for lane in T.vectorized(LANES):
                acc[r, v, lane] = acc[r, v, lane] + (
                    T.Cast(I32, A[row, k4 * 4]) * T.Cast(I32, WP[vector, k4, lane * 4])
                    + T.Cast(I32, A[row, k4 * 4 + 1]) * T.Cast(I32, WP[vector, k4, lane * 4 + 1])
                    + T.Cast(I32, A[row, k4 * 4 + 2]) * T.Cast(I32, WP[vector, k4, lane * 4 + 2])
                    + T.Cast(I32, A[row, k4 * 4 + 3]) * T.Cast(I32, WP[vector, k4, lane * 4 + 3]))

    @T.prim_func
    def matmul_integer_packed(a_h: T.handle, wp_h: T.handle, wsum_h: T.handle, za_h: T.handle, y_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        rows = T.int32()
        A = T.match_buffer(a_h, (rows, k), "uint8")
        WP = T.match_buffer(wp_h, (NV, K4, 4 * LANES), "int8")
        WSUM = T.match_buffer(wsum_h, (n,), I32)
        ZA = T.match_buffer(za_h, (), "uint8")
        Y = T.match_buffer(y_h, (rows, n), I32)
        for task in T.parallel((rows + ROWS - 1) // ROWS * GROUPS):
            acc = T.alloc_buffer((ROWS, CV, LANES), I32, scope="local")
            for r in T.unroll(ROWS):
                for v in T.unroll(CV):
                    for lane in T.vectorized(LANES):
                        acc[r, v, lane] = 0
            for k4 in range(K4):
                for r in T.unroll(ROWS):
                    for v in T.unroll(CV):
                        mac(acc, r, v, A, T.min(task // GROUPS * ROWS + r, rows - 1), k4, WP, task % GROUPS * CV + v)
            for r in T.unroll(ROWS):
                if task // GROUPS * ROWS + r < rows:
                    for v in T.unroll(CV):
                        for lane in T.vectorized(LANES):
                            Y[task // GROUPS * ROWS + r, (task % GROUPS * CV + v) * LANES + lane] = (
                                acc[r, v, lane] - T.Cast(I32, ZA[()]) * WSUM[(task % GROUPS * CV + v) * LANES + lane])

    return matmul_integer_packed


@implements("llvm", "MatMulIntegerPacked")
class PackedIntegerMatMulOnCpu(Implementation):
    def primfunc(self, input_types, attrs, output_types, target):
        from convrnn.schedules.cpu.vnni import has_vnni

        a, sums = input_types[0], input_types[2]
        return packed_integer_matmul_primfunc(a.shape[1], sums.shape[0], has_vnni(target))
