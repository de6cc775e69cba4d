"""The CPU kernel of com.microsoft DynamicQuantizeLSTM, written in TIR (TVMScript), following
onnxruntime's computation step for step so that the quantization decisions agree:

1. X's rows of the first max(sequence_lens) steps are quantized together to uint8 (one scale
   and zero point over all of them: DynamicQuantizeLinear's formulas) and multiplied by each
   direction's int8/uint8 W [I, 4H] in int32: XW = float(acc) * (x_scale * w_scale[n]).
2. Each direction walks its steps (directions run in parallel, one thread each). At a step the
   hidden state of the batch rows is quantized together (the Y rows of the step before, which
   are zero for a sequence that had ended there; at step 0 every row's initial state),
   multiplied by R [H, 4H] in int32, and added: gates = XW + float(acc) * (h_scale * r_scale[n]).
3. The gates (ONNX order i, o, f, c) as onnxruntime's deep-CPU LSTM: peephole term, then the
   fused bias Wb + Rb, then clip; MLAS's rational logistic and tanh; c = c_prev * f + i * g,
   o with the new c's peephole, h = tanh(c) * o.
A sequence's Y after its length is zero; a length-0 sequence ends with zero Y_h and Y_c.
The zero points of W and R are one per direction (onnxruntime reads only the first).

This serial kernel is the reference and the fallback: models whose weights minus zero point fit
int8 (every int8-weight model) run schedules/cpu/dynamic_quantize_lstm_packed.py, the same
computation vectorized (VNNI dot products over packed weights, the projection one parallel GEMM,
the step split among threads), whose outputs tests compare with this kernel's.
"""
from __future__ import annotations

from typing import Any

from convrnn.schedules.implementations import Implementation, implements

F32 = "float32"
I32 = "int32"

# MLAS's logistic (rational approximation on [-18, 18], clamped to [0, 1]) and tanh (on [-9, 9]).
_LOGISTIC_P = (4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05, 8.51377133304701e-03,
               2.48287947061529e-01)
_LOGISTIC_Q = (6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06, 1.70198817374094e-03,
               1.16817656904453e-01, 9.93151921023180e-01)
_TANH_P = (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
           1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03)
_TANH_Q = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)


def _horner(x, coefficients):
    from convrnn.compiler.tvm_adapter import tirx

    result = tirx.const(coefficients[0], F32)
    for c in coefficients[1:]:
        result = result * x + tirx.const(c, F32)
    return result


def mlas_logistic(v):
    from convrnn.compiler.tvm_adapter import tirx

    x = tirx.min(tirx.max(v, tirx.const(-18.0, F32)), tirx.const(18.0, F32))
    value = x * _horner(x * x, _LOGISTIC_P) / _horner(x * x, _LOGISTIC_Q) + tirx.const(0.5, F32)
    return tirx.min(tirx.max(value, tirx.const(0.0, F32)), tirx.const(1.0, F32))


def mlas_tanh(v):
    from convrnn.compiler.tvm_adapter import tirx

    x = tirx.min(tirx.max(v, tirx.const(-9.0, F32)), tirx.const(9.0, F32))
    return x * _horner(x * x, _TANH_P) / _horner(x * x, _TANH_Q)



class StepRules:
    """What a DynamicQuantizeLSTM step computes alike in the serial and the packed kernel (the
    TVMScript of both calls these while it is parsed)."""

    def __init__(self, attrs: dict[str, Any]):
        from convrnn.compiler.tvm_adapter import tirx

        self.tirx = tirx
        self.reverse, self.has_lens, self.has_p = attrs["reverse"], bool(attrs["has_lens"]), bool(attrs["has_peepholes"])
        self.clip, self.store_y = attrs["clip"], bool(attrs["store_y"])

    def length(self, SL, b, seq):
        return SL[b] if self.has_lens else seq

    def time(self, s, n, d):
        """The step that iteration s of direction d runs (direction 0 runs backwards with attr
        reverse; direction 1 always does)."""
        return s + (self.reverse + d) * (n - 1 - 2 * s)

    def pre(self, v, bias):
        """Pre-activation: the gate plus the fused bias, clipped when the layer has `clip`."""
        v = v + bias
        if self.clip is None:
            return v
        return self.tirx.min(self.tirx.max(v, self.tirx.const(-self.clip, F32)), self.tirx.const(self.clip, F32))

    def peephole(self, gate, P, d, which, j, c):
        return gate + c * P[d, which, j] if self.has_p else gate

    def counted(self, SL, s, b, seq):
        """Whether row b's hidden state enters step s's quantization range."""
        if not self.store_y:  # without Y onnxruntime reads the carried state of ended rows
            return self.tirx.const(True, "bool")
        # step s reads Y of step s - 1: zero for a row that had ended there, at step 0 h0
        return s <= self.length(SL, b, seq)

def _lanes(extent: int) -> int:
    for lanes in (16, 8, 4, 2):
        if extent % lanes == 0:
            return lanes
    return 1


def dynamic_quantize_lstm_primfunc(attrs: dict) -> Any:
    from tvm.script import tirx as T

    from convrnn.compiler.tvm_adapter import tirx
    from convrnn.schedules.ops.dynamic_quantize_linear import quantization_range, quantize_uint8

    H, D, I = attrs["hidden_size"], attrs["num_directions"], attrs["input_size"]
    G4 = 4 * H
    L = _lanes(H)
    has_lens, has_h0, has_c0, has_p = (bool(attrs[k]) for k in ("has_lens", "has_initial_h", "has_initial_c",
                                                                  "has_peepholes"))
    input_forget, store_y = bool(attrs["input_forget"]), bool(attrs["store_y"])
    w_dtype, r_dtype = attrs["w_dtype"], attrs["r_dtype"]

    rules = StepRules(attrs)
    length, time, pre, peephole, counted = rules.length, rules.time, rules.pre, rules.peephole, rules.counted

    def initial(S0, has, d, b, j):
        return S0[d, b, j] if has else tirx.const(0.0, F32)

    def forget(GATE, P, B, CS, d, b, j):
        if input_forget:
            return tirx.const(1.0, F32) - GATE[d, j]
        return mlas_logistic(pre(peephole(GATE[d, 2 * H + j], P, d, 2, j, CS[d, b, j]), B[d, 2 * H + j]))

    y_shape = (lambda seq, batch: (seq, D, batch, H)) if store_y else (lambda seq, batch: (1, 1, 1, 1))

    @T.prim_func
    def dynamic_quantize_lstm(x_h: T.handle, w_h: T.handle, r_h: T.handle, b_h: T.handle, sl_h: T.handle,
                              h0_h: T.handle, c0_h: T.handle, p_h: T.handle, ws_h: T.handle, wz_h: T.handle,
                              rs_h: T.handle, rz_h: T.handle, y_h: T.handle, yh_h: T.handle, yc_h: T.handle):
        T.func_attr({"tirx.noalias": True})
        seq = T.int32()
        batch = T.int32()
        nl = T.int32()
        hb = T.int32()
        cb = T.int32()
        X = T.match_buffer(x_h, (seq, batch, I), F32)
        W = T.match_buffer(w_h, (D, I, G4), w_dtype)
        R = T.match_buffer(r_h, (D, H, G4), r_dtype)
        B = T.match_buffer(b_h, (D, G4), F32)
        SL = T.match_buffer(sl_h, (nl,), I32)
        H0 = T.match_buffer(h0_h, (D, hb, H), F32)
        C0 = T.match_buffer(c0_h, (D, cb, H), F32)
        P = T.match_buffer(p_h, (D, 3, H), F32)
        WS = T.match_buffer(ws_h, (D, G4), F32)
        WZ = T.match_buffer(wz_h, (D,), I32)
        RS = T.match_buffer(rs_h, (D, G4), F32)
        RZ = T.match_buffer(rz_h, (D,), I32)
        Y = T.match_buffer(y_h, y_shape(seq, batch), F32)
        YH = T.match_buffer(yh_h, (D, batch, H), F32)
        YC = T.match_buffer(yc_h, (D, batch, H), F32)
        XQ = T.alloc_buffer((seq, batch, I), I32)
        XW = T.alloc_buffer((D, seq, batch, G4), F32)
        HS = T.alloc_buffer((D, batch, H), F32)
        CS = T.alloc_buffer((D, batch, H), F32)
        HQ = T.alloc_buffer((D, batch, H), I32)
        ACC = T.alloc_buffer((D, G4), I32)
        GATE = T.alloc_buffer((D, G4), F32)
        # [low, high, scale, zero point] of X's range (row D) and of each direction's h
        QP = T.alloc_buffer((D + 1, 4), F32)
        LONGEST = T.alloc_buffer((1,), I32)
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
        if store_y:
            for row in T.parallel(seq * D * batch):
                for j0, j1 in T.grid(H // L, L):
                    Y[row // (D * batch), row // batch % D, row % batch, j0 * L + j1] = T.float32(0)
        for db in range(D * batch):
            for j in range(H):
                YH[db // batch, db % batch, j] = T.float32(0)
                YC[db // batch, db % batch, j] = T.float32(0)
        # 1. X quantized over the steps that run, then projected by W
        QP[D, 0] = T.float32(0)
        QP[D, 1] = T.float32(0)
        for t, b, i in T.grid(seq, batch, I):
            if t < LONGEST[0]:
                QP[D, 0] = T.min(QP[D, 0], X[t, b, i])
                QP[D, 1] = T.max(QP[D, 1], X[t, b, i])
        QP[D, 2] = quantization_range(tirx, QP[D, 0], QP[D, 1])[0]
        QP[D, 3] = quantization_range(tirx, QP[D, 0], QP[D, 1])[1]
        for tb in T.parallel(seq * batch):
            if tb // batch < LONGEST[0]:
                for i in range(I):
                    XQ[tb // batch, tb % batch, i] = T.Cast(I32, quantize_uint8(
                        tirx, X[tb // batch, tb % batch, i], QP[D, 2], QP[D, 3])) - T.Cast(I32, QP[D, 3])
        for row in T.parallel(D * seq * batch):
            if row // batch % seq < LONGEST[0]:
                acc = T.alloc_buffer((G4,), I32, scope="local")
                for n0, n1 in T.grid(G4 // L, L):
                    acc[n0 * L + n1] = 0
                for k in range(I):
                    for n0 in range(G4 // L):
                        for n1 in T.vectorized(L):
                            acc[n0 * L + n1] = acc[n0 * L + n1] + XQ[row // batch % seq, row % batch, k] * (
                                T.Cast(I32, W[row // (seq * batch), k, n0 * L + n1]) - WZ[row // (seq * batch)])
                for n0 in range(G4 // L):
                    for n1 in T.vectorized(L):
                        XW[row // (seq * batch), row // batch % seq, row % batch, n0 * L + n1] = T.Cast(
                            F32, acc[n0 * L + n1]) * (QP[D, 2] * WS[row // (seq * batch), n0 * L + n1])
        # 2. each direction's time loop
        for d in T.parallel(D):
            for b, j in T.grid(batch, H):
                HS[d, b, j] = initial(H0, has_h0, d, b, j)
                CS[d, b, j] = initial(C0, has_c0, d, b, j)
            for s in range(seq):
                if s < LONGEST[0]:
                    QP[d, 0] = T.float32(0)
                    QP[d, 1] = T.float32(0)
                    for b, j in T.grid(batch, H):
                        if counted(SL, s, b, seq):
                            QP[d, 0] = T.min(QP[d, 0], HS[d, b, j])
                            QP[d, 1] = T.max(QP[d, 1], HS[d, b, j])
                    QP[d, 2] = quantization_range(tirx, QP[d, 0], QP[d, 1])[0]
                    QP[d, 3] = quantization_range(tirx, QP[d, 0], QP[d, 1])[1]
                    for b, j in T.grid(batch, H):
                        HQ[d, b, j] = T.Cast(I32, quantize_uint8(tirx, HS[d, b, j], QP[d, 2], QP[d, 3])) \
                            - T.Cast(I32, QP[d, 3])
                    for b in range(batch):
                        if s < length(SL, b, seq):
                            for n0, n1 in T.grid(G4 // L, L):
                                ACC[d, n0 * L + n1] = 0
                            for k in range(H):
                                for n0 in range(G4 // L):
                                    for n1 in T.vectorized(L):
                                        ACC[d, n0 * L + n1] = ACC[d, n0 * L + n1] + HQ[d, b, k] * (
                                            T.Cast(I32, R[d, k, n0 * L + n1]) - RZ[d])
                            for n0 in range(G4 // L):
                                for n1 in T.vectorized(L):
                                    GATE[d, n0 * L + n1] = XW[d, time(s, length(SL, b, seq), d), b, n0 * L + n1] \
                                        + T.Cast(F32, ACC[d, n0 * L + n1]) * (QP[d, 2] * RS[d, n0 * L + n1])
                            for j0 in range(H // L):
                                for j1 in T.vectorized(L):  # i
                                    GATE[d, j0 * L + j1] = mlas_logistic(pre(peephole(
                                        GATE[d, j0 * L + j1], P, d, 0, j0 * L + j1, CS[d, b, j0 * L + j1]),
                                        B[d, j0 * L + j1]))
                                for j1 in T.vectorized(L):  # f
                                    GATE[d, 2 * H + j0 * L + j1] = forget(GATE, P, B, CS, d, b, j0 * L + j1)
                                for j1 in T.vectorized(L):  # g
                                    GATE[d, 3 * H + j0 * L + j1] = mlas_tanh(pre(GATE[d, 3 * H + j0 * L + j1],
                                                                                 B[d, 3 * H + j0 * L + j1]))
                                for j1 in T.vectorized(L):  # c
                                    CS[d, b, j0 * L + j1] = CS[d, b, j0 * L + j1] * GATE[d, 2 * H + j0 * L + j1] \
                                        + GATE[d, j0 * L + j1] * GATE[d, 3 * H + j0 * L + j1]
                                for j1 in T.vectorized(L):  # o
                                    GATE[d, H + j0 * L + j1] = mlas_logistic(pre(peephole(
                                        GATE[d, H + j0 * L + j1], P, d, 1, j0 * L + j1, CS[d, b, j0 * L + j1]),
                                        B[d, H + j0 * L + j1]))
                                for j1 in T.vectorized(L):  # h
                                    HS[d, b, j0 * L + j1] = mlas_tanh(CS[d, b, j0 * L + j1]) \
                                        * GATE[d, H + j0 * L + j1]
                            if store_y:
                                for j in range(H):
                                    Y[time(s, length(SL, b, seq), d), d, b, j] = HS[d, b, j]
                            if s + 1 == length(SL, b, seq):
                                for j in range(H):
                                    YH[d, b, j] = HS[d, b, j]
                                    YC[d, b, j] = CS[d, b, j]

    return dynamic_quantize_lstm


@implements("llvm", "DynamicQuantizeLSTM")
class DynamicQuantizeLstmOnCpu(Implementation):
    def primfunc(self, input_types, attrs, output_types, target):
        if attrs.get("packed"):
            from convrnn.runtime.threads import pool_threads
            from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import packed_primfunc
            from convrnn.schedules.cpu.vnni import has_vnni

            return packed_primfunc(attrs, has_vnni(target), pool_threads())
        return dynamic_quantize_lstm_primfunc(attrs)
