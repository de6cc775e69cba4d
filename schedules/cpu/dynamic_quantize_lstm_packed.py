"""The fast CPU kernel of com.microsoft DynamicQuantizeLSTM: the same computation as
schedules/cpu/dynamic_quantize_lstm.py (onnxruntime's, step for step: read its docstring for the
semantics), with its integer products done as uint8 x int8 dot products of 4 consecutive k into
int32 lanes (AVX-512 VNNI's vpdpbusd where the target has it, the same sums in plain int32
vector arithmetic elsewhere) over weights packed once at import (`pack_weights`):

1. X quantized to uint8 over the steps that run (one range), then projected by W for all those
   steps at once: one parallel GEMM in register tiles of ROWS rows x COLUMN_VECTORS vectors.
2. The time loop (a loop, never unrolled) runs inside one parallel region: a task (a direction,
   or a group of unit tiles of a direction) quantizes h_prev of its direction itself (every task
   of a direction computes the same range and the same bytes), multiplies its tiles' columns of
   R, applies the cell and writes its units of h; a barrier ends the step (h is double-buffered by
   step parity). With one thread per direction each runs its own time loop, without barriers.

Exactness: with w8 = w - zero point (it must fit int8: the converter checks, and keeps the
serial kernel otherwise), sum_k (q_k - zq)(w_k - zw) = sum_k q_k w8_k - zq * sum_k w8_k, the last
sum a packed constant; integer sums are exact in any order, and the float arithmetic after them
is the serial kernel's, element by element in the same order.

Packed layout: hidden units in tiles of U (16, 32 or 64; H padded to Hp, a multiple of U, with
zero weights, scales, biases and peepholes, so padded units keep h = c = 0 and never widen h's
range); a tile's 4U columns are its units' gates i, o, f, c (U each), in vectors of 16 columns;
weights [D, Hp/U, K/4, 4U/16, 16 columns x 4 k] int8 (K padded to a multiple of 16, zero rows).
"""
from __future__ import annotations

from typing import Any, Optional

from convrnn.schedules.cpu.dynamic_quantize_lstm import StepRules, mlas_logistic, mlas_tanh
from convrnn.schedules.cpu.vnni import vpdpbusd

F32 = "float32"
I32 = "int32"
LANES = 16          # int32 lanes of one vector of products
ROWS = 6            # projection: rows of X per register tile
COLUMN_VECTORS = 4  # projection: column vectors per register tile (ROWS x this accumulators)


def unit_tile(hidden: int) -> int:
    """Hidden units per tile: 64 (16 accumulators for a row's 4 gates) where the padded size allows."""
    padded = -(-hidden // LANES) * LANES
    return next(u for u in (64, 32, 16) if padded % u == 0)


def padded_sizes(hidden: int, inputs: int) -> tuple[int, int, int]:
    """(U, Hp, Kx): the unit tile, padded hidden units and padded input size."""
    units = unit_tile(hidden)
    return units, -(-hidden // units) * units, -(-inputs // LANES) * LANES


def _columns(array, hidden: int, units: int, padded: int):
    """[D, ..., 4H] (ONNX gate order along the last axis) -> [D, ..., 4Hp] in packed column order
    (tile, gate, unit), zero-filled past H."""
    import numpy as np

    lead = array.shape[:-1]
    gates = np.zeros(lead + (4, padded), array.dtype)
    gates[..., :hidden] = array.reshape(lead + (4, hidden))
    tiles = gates.reshape(lead + (4, padded // units, units))
    return np.ascontiguousarray(np.moveaxis(tiles, -2, -3)).reshape(lead + (4 * padded,))


def pack_columns(array, hidden: int) -> Any:
    """A per-column float array [D, 4H] (scales, fused bias) in the packed column order [D, 4Hp]."""
    import numpy as np

    units = unit_tile(hidden)
    return _columns(np.asarray(array, np.float32), hidden, units, -(-hidden // units) * units)


def pack_weights(weights, zero_points, hidden: int, rows_padded: int) -> Optional[tuple[Any, Any]]:
    """W [D, K, 4H] or R [D, H, 4H] (int8/uint8) and one zero point per direction -> (packed int8
    [D, Hp/U, rows_padded/4, 4U/16, 64], column sums int32 [D, 4Hp]) of w - zero point; None
    when some w - zero point does not fit int8."""
    import numpy as np

    directions, rows, _ = weights.shape
    shifted = weights.astype(np.int32) - np.asarray(zero_points, np.int32).reshape(directions, 1, 1)
    if shifted.size and (shifted.min() < -128 or shifted.max() > 127):
        return None
    units = unit_tile(hidden)
    padded = -(-hidden // units) * units
    w = np.zeros((directions, rows_padded, 4 * padded), np.int8)
    w[:, :rows] = _columns(shifted.astype(np.int8), hidden, units, padded)
    sums = w.astype(np.int32).sum(axis=1, dtype=np.int32)
    tiles, vectors = padded // units, 4 * units // LANES
    # [D, K4, 4 k, tiles, 4U] -> [D, tiles, K4, 4U, 4 k] -> [D, tiles, K4, vectors, 16 x 4]
    packed = w.reshape(directions, rows_padded // 4, 4, tiles, 4 * units).transpose(0, 3, 1, 4, 2)
    return np.ascontiguousarray(packed).reshape(directions, tiles, rows_padded // 4, vectors, 4 * LANES), sums


def _groups(tiles: int, directions: int, threads: int) -> int:
    """Tasks per direction: the largest divisor of the tile count within this direction's threads."""
    share = max(1, threads // directions)
    return max(g for g in range(1, tiles + 1) if tiles % g == 0 and g <= share)


def packed_primfunc(attrs: dict, vnni: bool, threads: int) -> Any:
    from tvm.script import tirx as T

    from convrnn.compiler.tvm_adapter import tirx
    from convrnn.schedules.ops.dynamic_quantize_linear import quantization_range, quantize_uint8
    from convrnn.schedules.cpu.recurrent import BARRIER_AFTER, LAUNCH_ONCE

    H, D, I = attrs["hidden_size"], attrs["num_directions"], attrs["input_size"]
    U, Hp, Kx = padded_sizes(H, I)
    NBT = Hp // U                 # unit tiles per direction
    V = 4 * U // LANES            # column vectors per tile
    UV = U // LANES               # vectors of units per tile
    G4p = 4 * Hp
    VG = V // COLUMN_VECTORS      # projection column tasks per tile
    directions_split = D > 1 and threads <= D
    G = 1 if directions_split else _groups(NBT, D, threads)
    TPG = NBT // G                # tiles per task
    TASKS = D * G
    has_lens, has_h0, has_c0, has_p = (bool(attrs[k]) for k in ("has_lens", "has_initial_h", "has_initial_c",
                                                                  "has_peepholes"))
    input_forget, store_y = bool(attrs["input_forget"]), bool(attrs["store_y"])

    rules = StepRules(attrs)  # as the serial kernel computes them
    length, time, pre, peephole, counted = rules.length, rules.time, rules.pre, rules.peephole, rules.counted

    def initial(S0, has, d, b, j):
        return T.if_then_else(j < H, S0[d, b, T.min(j, H - 1)], T.float32(0)) if has else T.float32(0)

    y_shape = (lambda seq, batch: (seq, D, batch, H)) if store_y else (lambda seq, batch: (1, 1, 1, 1))

    def xw_col(columns, v, lane):
        """The column (within a direction) of lane `lane` of vector v of column task `columns`."""
        return columns // VG % NBT * 4 * U + (columns % VG * COLUMN_VECTORS + v) * LANES + lane

    @T.macro
    def mac(ACC, a0, a1, A, r, k4, WT, d, tile, v):
        """ACC[a0, a1, 0:16] += sum over k of A[r, 4 k4 + k] (uint8) * WT[d, tile, k4, v, 4 lane + k] (int8)."""
        if vnni:
            ACC[a0, a1, T.ramp(0, 1, LANES)] = vpdpbusd(ACC[a0, a1, T.ramp(0, 1, LANES)], A[r, T.ramp(k4 * 4, 1, 4)],
                                                        WT[d, tile, k4, v, T.ramp(0, 1, 4 * LANES)])
        else:
            for lane in T.vectorized(LANES):
                ACC[a0, a1, lane] = ACC[a0, a1, lane] + (
                    T.Cast(I32, A[r, k4 * 4]) * T.Cast(I32, WT[d, tile, k4, v, lane * 4])
                    + T.Cast(I32, A[r, k4 * 4 + 1]) * T.Cast(I32, WT[d, tile, k4, v, lane * 4 + 1])
                    + T.Cast(I32, A[r, k4 * 4 + 2]) * T.Cast(I32, WT[d, tile, k4, v, lane * 4 + 2])
                    + T.Cast(I32, A[r, k4 * 4 + 3]) * T.Cast(I32, WT[d, tile, k4, v, lane * 4 + 3]))

    @T.macro
    def projection(k, task):
        """XW rows ROWS * block .. (block: task % blocks) of one direction's tile columns,
        COLUMN_VECTORS vectors of them (task // blocks: direction, tile, vector group)."""
        if task % k.blocks * ROWS < k.LONGEST[0] * k.batch:
            acc = T.alloc_buffer((ROWS, COLUMN_VECTORS, LANES), I32, scope="local")
            for r in T.unroll(ROWS):
                for v in T.unroll(COLUMN_VECTORS):
                    for lane in T.vectorized(LANES):
                        acc[r, v, lane] = 0
            for k4 in range(Kx // 4):
                for r in T.unroll(ROWS):
                    for v in T.unroll(COLUMN_VECTORS):
                        mac(acc, r, v, k.XQ, T.min(task % k.blocks * ROWS + r, k.LONGEST[0] * k.batch - 1), k4, k.WP,
                            task // k.blocks // (NBT * VG), task // k.blocks // VG % NBT,
                            task // k.blocks % VG * COLUMN_VECTORS + v)
            for r in T.unroll(ROWS):
                if task % k.blocks * ROWS + r < k.LONGEST[0] * k.batch:
                    for v in T.unroll(COLUMN_VECTORS):
                        for lane in T.vectorized(LANES):
                            k.XW[task // k.blocks // (NBT * VG), task % k.blocks * ROWS + r,
                                 xw_col(task // k.blocks, v, lane)] = T.Cast(
                                F32, acc[r, v, lane] - T.Cast(I32, k.QX[3])
                                * k.WSUM[task // k.blocks // (NBT * VG), xw_col(task // k.blocks, v, lane)]) * (
                                k.QX[2] * k.WS[task // k.blocks // (NBT * VG), xw_col(task // k.blocks, v, lane)])

    @T.macro
    def quantize_h(k, s, d, task, qp):
        """This task's copy of h_prev of direction d quantized over the rows that count (qp: low,
        high, scale, zero point)."""
        low = T.alloc_buffer((LANES,), F32, scope="local")
        high = T.alloc_buffer((LANES,), F32, scope="local")
        for lane in T.vectorized(LANES):
            low[lane] = T.float32(0)
            high[lane] = T.float32(0)
        for b in range(k.batch):
            if counted(k.SL, s, b, k.seq):
                for j0 in range(Hp // LANES):
                    for lane in T.vectorized(LANES):
                        low[lane] = T.min(low[lane], k.HS[s % 2, d, b, j0 * LANES + lane])
                        high[lane] = T.max(high[lane], k.HS[s % 2, d, b, j0 * LANES + lane])
        qp[0] = T.float32(0)
        qp[1] = T.float32(0)
        for lane in range(LANES):
            qp[0] = T.min(qp[0], low[lane])
            qp[1] = T.max(qp[1], high[lane])
        qp[2] = quantization_range(tirx, qp[0], qp[1])[0]
        qp[3] = quantization_range(tirx, qp[0], qp[1])[1]
        for b in range(k.batch):
            for j0 in range(Hp // LANES):
                for lane in T.vectorized(LANES):
                    k.HQ[task * k.batch + b, j0 * LANES + lane] = quantize_uint8(
                        tirx, k.HS[s % 2, d, b, j0 * LANES + lane], qp[2], qp[3])

    def col(tile, gate, u0, lane):
        return tile * 4 * U + gate * U + u0 * LANES + lane

    def unit(tile, u0, lane):
        return tile * U + u0 * LANES + lane

    @T.macro
    def cell(k, s, d, task, qp, tile, b):
        """Row b's units of this tile at step s: gates = XW + R's products, then the cell."""
        acc = T.alloc_buffer((1, V, LANES), I32, scope="local")
        for v in T.unroll(V):
            for lane in T.vectorized(LANES):
                acc[0, v, lane] = 0
        for k4 in range(Hp // 4):
            for v in T.unroll(V):
                mac(acc, 0, v, k.HQ, task * k.batch + b, k4, k.RP, d, tile, v)
        gate = T.alloc_buffer((4, LANES), F32, scope="local")
        for u0 in T.unroll(UV):
            for g in T.unroll(4):
                for lane in T.vectorized(LANES):
                    gate[g, lane] = k.XW[d, time(s, length(k.SL, b, k.seq), d) * k.batch + b, col(tile, g, u0, lane)] \
                        + T.Cast(F32, acc[0, g * UV + u0, lane]
                                 - T.Cast(I32, qp[3]) * k.RSUM[d, col(tile, g, u0, lane)]) \
                        * (qp[2] * k.RS[d, col(tile, g, u0, lane)])
            for lane in T.vectorized(LANES):  # i
                gate[0, lane] = mlas_logistic(pre(peephole(gate[0, lane], k.P, d, 0, unit(tile, u0, lane),
                                                           k.CS[d, b, unit(tile, u0, lane)]),
                                                  k.B[d, col(tile, 0, u0, lane)]))
            for lane in T.vectorized(LANES):  # f
                if input_forget:
                    gate[2, lane] = T.float32(1) - gate[0, lane]
                else:
                    gate[2, lane] = mlas_logistic(pre(peephole(gate[2, lane], k.P, d, 2, unit(tile, u0, lane),
                                                               k.CS[d, b, unit(tile, u0, lane)]),
                                                      k.B[d, col(tile, 2, u0, lane)]))
            for lane in T.vectorized(LANES):  # g
                gate[3, lane] = mlas_tanh(pre(gate[3, lane], k.B[d, col(tile, 3, u0, lane)]))
            for lane in T.vectorized(LANES):  # c
                k.CS[d, b, unit(tile, u0, lane)] = k.CS[d, b, unit(tile, u0, lane)] * gate[2, lane] \
                    + gate[0, lane] * gate[3, lane]
            for lane in T.vectorized(LANES):  # o, from the new c
                gate[1, lane] = mlas_logistic(pre(peephole(gate[1, lane], k.P, d, 1, unit(tile, u0, lane),
                                                           k.CS[d, b, unit(tile, u0, lane)]),
                                                  k.B[d, col(tile, 1, u0, lane)]))
            for lane in T.vectorized(LANES):  # h
                k.HS[(s + 1) % 2, d, b, unit(tile, u0, lane)] = mlas_tanh(k.CS[d, b, unit(tile, u0, lane)]) \
                    * gate[1, lane]
        if store_y:
            if H == Hp:
                for u in T.vectorized(U):
                    k.Y[time(s, length(k.SL, b, k.seq), d), d, b, tile * U + u] = k.HS[(s + 1) % 2, d, b, tile * U + u]
            else:
                for u in range(U):
                    if tile * U + u < H:
                        k.Y[time(s, length(k.SL, b, k.seq), d), d, b, tile * U + u] = \
                            k.HS[(s + 1) % 2, d, b, tile * U + u]
        if s + 1 == length(k.SL, b, k.seq):
            for u in range(U):
                if tile * U + u < H:
                    k.YH[d, b, tile * U + u] = k.HS[(s + 1) % 2, d, b, tile * U + u]
                    k.YC[d, b, tile * U + u] = k.CS[d, b, tile * U + u]

    @T.macro
    def step(k, s, d, g):
        """Task (d, g) at step s: its own quantized h_prev, then its tiles' rows."""
        qp = T.alloc_buffer((4,), F32, scope="local")
        quantize_h(k, s, d, d * G + g, qp)
        for tt in range(TPG):
            for b in range(k.batch):
                if s < length(k.SL, b, k.seq):
                    cell(k, s, d, d * G + g, qp, g * TPG + tt, b)
                else:  # an ended row carries its state to the other parity
                    for u in T.vectorized(U):
                        k.HS[(s + 1) % 2, d, b, (g * TPG + tt) * U + u] = k.HS[s % 2, d, b, (g * TPG + tt) * U + u]

    @T.macro
    def time_loop(k):
        if directions_split:
            for d in T.parallel(D):
                for s in range(k.seq):
                    if s < k.LONGEST[0]:
                        step(k, s, d, 0)
        elif TASKS > 1:
            with T.attr(0, LAUNCH_ONCE, 1):
                for s in range(k.seq):
                    if s < k.LONGEST[0]:
                        with T.attr(0, BARRIER_AFTER, 1):
                            for task in T.parallel(TASKS):
                                step(k, s, task // G, task % G)
        else:
            for s in range(k.seq):
                if s < k.LONGEST[0]:
                    step(k, s, 0, 0)

    @T.prim_func
    def dynamic_quantize_lstm(x_h: T.handle, wp_h: T.handle, wsum_h: T.handle, rp_h: T.handle, rsum_h: T.handle,
                              b_h: T.handle, sl_h: T.handle, h0_h: T.handle, c0_h: T.handle, p_h: T.handle,
                              ws_h: T.handle, rs_h: T.handle, y_h: T.handle, yh_h: T.handle, yc_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        seq = T.int32()
        batch = T.int32()
        nl = T.int32()
        hb = T.int32()
        cb = T.int32()
        X = T.match_buffer(x_h, (seq, batch, I), F32)
        WP = T.match_buffer(wp_h, (D, NBT, Kx // 4, V, 4 * LANES), "int8")
        WSUM = T.match_buffer(wsum_h, (D, G4p), I32)
        RP = T.match_buffer(rp_h, (D, NBT, Hp // 4, V, 4 * LANES), "int8")
        RSUM = T.match_buffer(rsum_h, (D, G4p), I32)
        B = T.match_buffer(b_h, (D, G4p), F32)
        SL = T.match_buffer(sl_h, (nl,), I32)
        H0 = T.match_buffer(h0_h, (D, hb, H), F32)
        C0 = T.match_buffer(c0_h, (D, cb, H), F32)
        P = T.match_buffer(p_h, (D, 3, Hp), F32)
        WS = T.match_buffer(ws_h, (D, G4p), F32)
        RS = T.match_buffer(rs_h, (D, G4p), F32)
        Y = T.match_buffer(y_h, y_shape(seq, batch), F32)
        YH = T.match_buffer(yh_h, (D, batch, H), F32)
        YC = T.match_buffer(yc_h, (D, batch, H), F32)
        XF = T.decl_buffer((seq * batch * I,), F32, data=X.data)
        XQ = T.alloc_buffer((seq * batch, Kx), "uint8")
        XW = T.alloc_buffer((D, seq * batch, G4p), F32)
        HS = T.alloc_buffer((2, D, batch, Hp), F32)
        CS = T.alloc_buffer((D, batch, Hp), F32)
        HQ = T.alloc_buffer((TASKS * batch, Hp), "uint8")
        QX = T.alloc_buffer((4,), F32)  # X's low, high, scale, zero point
        XLOW = T.alloc_buffer((LANES,), F32)
        XHIGH = T.alloc_buffer((LANES,), F32)
        LONGEST = T.alloc_buffer((1,), I32)
        k = T.meta_var(_Kernel(XQ=XQ, XW=XW, WP=WP, WSUM=WSUM, WS=WS, RP=RP, RSUM=RSUM, RS=RS, B=B, P=P, SL=SL,
                               HS=HS, CS=CS, HQ=HQ, QX=QX, Y=Y, YH=YH, YC=YC, LONGEST=LONGEST, seq=seq,
                               batch=batch, blocks=(seq * batch + ROWS - 1) // ROWS))
        if has_lens:
            assert nl == batch, "sequence_lens must have one entry per batch row of X"
            for b in range(batch):
                assert 0 <= SL[b] and SL[b] <= seq, "sequence_lens entries must lie in [0, seq_length]"
        if has_h0:
            assert hb == batch, "initial_h must have the batch size of X"
        if has_c0:
            assert cb == batch, "initial_c must have the batch size of X"
        LONGEST[0] = 0
        for b in range(batch):
            LONGEST[0] = T.max(LONGEST[0], length(SL, b, seq))
        if store_y and has_lens:  # without lengths every row writes Y at every step
            for row in T.parallel(seq * D * batch):
                for j in range(H):
                    Y[row // (D * batch), row // batch % D, row % batch, j] = T.float32(0)
        for db in range(D * batch):
            for j in range(H):
                YH[db // batch, db % batch, j] = T.float32(0)
                YC[db // batch, db % batch, j] = T.float32(0)
        # 1. X quantized over the steps that run (one range), then projected by W
        for lane in T.vectorized(LANES):
            XLOW[lane] = T.float32(0)
            XHIGH[lane] = T.float32(0)
        for i0 in range(LONGEST[0] * batch * I // LANES):
            for lane in T.vectorized(LANES):
                XLOW[lane] = T.min(XLOW[lane], XF[i0 * LANES + lane])
                XHIGH[lane] = T.max(XHIGH[lane], XF[i0 * LANES + lane])
        for i in range(LONGEST[0] * batch * I % LANES):
            XLOW[0] = T.min(XLOW[0], XF[LONGEST[0] * batch * I // LANES * LANES + i])
            XHIGH[0] = T.max(XHIGH[0], XF[LONGEST[0] * batch * I // LANES * LANES + i])
        QX[0] = T.float32(0)
        QX[1] = T.float32(0)
        for lane in range(LANES):
            QX[0] = T.min(QX[0], XLOW[lane])
            QX[1] = T.max(QX[1], XHIGH[lane])
        QX[2] = quantization_range(tirx, QX[0], QX[1])[0]
        QX[3] = quantization_range(tirx, QX[0], QX[1])[1]
        for row in T.parallel(LONGEST[0] * batch):
            if I == Kx:
                for i in T.vectorized(Kx):
                    XQ[row, i] = quantize_uint8(tirx, X[row // batch, row % batch, i], QX[2], QX[3])
            else:
                for i in T.vectorized(Kx):
                    XQ[row, i] = T.if_then_else(
                        i < I, quantize_uint8(tirx, X[row // batch, row % batch, T.min(i, I - 1)], QX[2], QX[3]),
                        T.uint8(0))
        for task in T.parallel(D * NBT * VG * ((seq * batch + ROWS - 1) // ROWS)):
            projection(k, task)
        # 2. the time loop
        for db in range(D * batch):
            for j0 in range(Hp // LANES):
                for lane in T.vectorized(LANES):
                    HS[0, db // batch, db % batch, j0 * LANES + lane] = initial(H0, has_h0, db // batch, db % batch,
                                                                                j0 * LANES + lane)
                    CS[db // batch, db % batch, j0 * LANES + lane] = initial(C0, has_c0, db // batch, db % batch,
                                                                             j0 * LANES + lane)
        time_loop(k)

    return dynamic_quantize_lstm


class _Kernel:
    """The kernel's buffers and symbolic dims by name, for the macros (built with T.meta_var)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)
