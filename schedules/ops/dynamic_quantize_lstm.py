"""DynamicQuantizeLSTM (onnxruntime's com.microsoft contrib op): an LSTM whose input and
hidden state are quantized to uint8 at every product, with int8/uint8 weights; the kernel is
written in TIR (schedules/cpu/dynamic_quantize_lstm.py), its time loop a loop.

Inputs, all present (the frontend gives absent optional ones as small constants with the
`has_*` flag 0): X [seq, batch, I] float32; W [D, I, 4H] and R [D, H, 4H] (ONNX gate order
i, o, f, c along the last axis) int8 or uint8; B [D, 4H] the fused bias Wb + Rb; sequence_lens
[batch] int32; initial_h, initial_c [D, batch, H]; P [D, 3, H] peepholes (i, o, f); W_scale,
R_scale [D, 4H] float32 (per-tensor scales broadcast); W_zero, R_zero [D] int32.
Outputs Y [seq, D, batch, H] (a 1x1x1x1 placeholder when store_y is 0), Y_h, Y_c [D, batch, H].
Attrs: hidden_size, input_size, num_directions, reverse (direction 0 runs backwards),
input_forget, clip (None or a float), store_y, has_lens, has_initial_h, has_initial_c,
has_peepholes, w_dtype, r_dtype, packed.

With `packed` 1 (what compiler/passes/pack_quantized_lstm.py makes of the plain form when every
weight minus its zero point fits int8) the weights come packed for the vector kernel
(schedules/cpu/dynamic_quantize_lstm_packed.py), zero points folded in: X; W_packed [D, Hp/U, Kx/4, 4U/16, 64] int8 and W_sum [D, 4Hp] int32; R_packed
[D, Hp/U, Hp/4, 4U/16, 64] and R_sum; B [D, 4Hp]; sequence_lens; initial_h, initial_c; P
[D, 3, Hp]; W_scale, R_scale [D, 4Hp] (columns in the packed order, padded with zeros).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register

INPUTS = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P", "W_scale", "W_zero",
          "R_scale", "R_zero")
PACKED_INPUTS = ("X", "W_packed", "W_sum", "R_packed", "R_sum", "B", "sequence_lens", "initial_h", "initial_c", "P",
                 "W_scale", "R_scale")


def _expected_packed(attrs):
    from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import LANES, padded_sizes

    H, D, I = attrs["hidden_size"], attrs["num_directions"], attrs["input_size"]
    units, hp, kx = padded_sizes(H, I)
    tiles, vectors = hp // units, 4 * units // LANES
    columns = ((D, 4 * hp), "float32")
    return {"W_packed": ((D, tiles, kx // 4, vectors, 4 * LANES), "int8"), "W_sum": ((D, 4 * hp), "int32"),
            "R_packed": ((D, tiles, hp // 4, vectors, 4 * LANES), "int8"), "R_sum": ((D, 4 * hp), "int32"),
            "B": columns, "P": ((D, 3, hp), "float32"), "W_scale": columns, "R_scale": columns}


@register
class DynamicQuantizeLSTM(OpDef):
    name = "DynamicQuantizeLSTM"

    def infer(self, inputs, attrs):
        names = PACKED_INPUTS if attrs.get("packed") else INPUTS
        if len(inputs) != len(names) or any(v is None for v in inputs):
            raise ValueError(f"DynamicQuantizeLSTM takes {', '.join(names)}")
        t = dict(zip(names, inputs))
        H, D, I = attrs["hidden_size"], attrs["num_directions"], attrs["input_size"]
        x = t["X"]
        if x.rank != 3 or x.shape[2] != I or x.dtype != "float32":
            raise ValueError(f"X {x} is not float32 [seq, batch, {I}]")
        if attrs.get("packed"):
            expected = _expected_packed(attrs)
        else:
            expected = {"W": ((D, I, 4 * H), attrs["w_dtype"]), "R": ((D, H, 4 * H), attrs["r_dtype"]),
                        "B": ((D, 4 * H), "float32"), "P": ((D, 3, H), "float32"),
                        "W_scale": ((D, 4 * H), "float32"), "R_scale": ((D, 4 * H), "float32"),
                        "W_zero": ((D,), "int32"), "R_zero": ((D,), "int32")}
        for name, (shape, dtype) in expected.items():
            if t[name].shape != shape or t[name].dtype != dtype:
                raise ValueError(f"{name} {t[name]} is not {dtype}[{','.join(map(str, shape))}]")
        if attrs["w_dtype"] not in ("int8", "uint8") or attrs["r_dtype"] not in ("int8", "uint8"):
            raise ValueError("W and R must be int8 or uint8")
        if t["sequence_lens"].dtype != "int32" or t["sequence_lens"].rank != 1:
            raise ValueError(f"sequence_lens must be an int32 vector, got {t['sequence_lens']}")
        for state in ("initial_h", "initial_c"):
            if t[state].rank != 3 or t[state].shape[0] != D or t[state].shape[2] != H:
                raise ValueError(f"{state} {t[state]} is not [{D}, batch, {H}]")
        seq, batch = x.shape[:2]
        state = TensorType((D, batch, H), "float32")
        y = TensorType((seq, D, batch, H) if attrs["store_y"] else (1, 1, 1, 1), "float32")
        return [y, state, state]
