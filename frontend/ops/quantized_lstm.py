"""com.microsoft DynamicQuantizeLSTM (onnxruntime's contrib op, what its quantizer makes of an
LSTM) -> IR DynamicQuantizeLSTM (schedules/ops/dynamic_quantize_lstm.py).

Inputs as onnxruntime's spec: X, W [D, I, 4H] and R [D, H, 4H] (quantized, already transposed),
B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale, R_zero_point. The
weights, biases, peepholes, scales and zero points must be constants: they are normalized here
once (fused bias Wb + Rb, per-column scales, one zero point per direction as onnxruntime reads).
The CPU's passes pack them for its vector kernel where they can (compiler/passes/
pack_quantized_lstm.py); the node leaves here in the plain form (attr `packed` 0).
"""
from __future__ import annotations

import numpy as np

from convrnn.frontend.registry import converter

DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}
DEFAULT_ACTIVATIONS = ["sigmoid", "tanh", "tanh"]


def _activations_are_default(ctx, directions: int) -> bool:
    names = [str(n).lower() for n in (ctx.attr("activations") or [])]
    return not names or names in (DEFAULT_ACTIVATIONS, DEFAULT_ACTIVATIONS * directions)


def _per_column(ctx, array, directions: int, hidden: int, what: str) -> np.ndarray:
    """A scale of shape [D] (per direction) or [D, 4H] (per column) as float32 [D, 4H]."""
    if array.shape == (directions,):
        return np.repeat(array.astype(np.float32)[:, None], 4 * hidden, axis=1)
    if array.shape == (directions, 4 * hidden):
        return array.astype(np.float32)
    raise ctx.error(f"{what} has shape {list(array.shape)}, expected [{directions}] or [{directions}, {4 * hidden}]")


def _zero_points(ctx, array, weights, directions: int, hidden: int, what: str) -> np.ndarray:
    """One int32 zero point per direction: onnxruntime reads the first; per-column ones must agree
    (uint8 weights) or be zero (int8 weights)."""
    if array.dtype != weights.dtype:
        raise ctx.error(f"{what} is {array.dtype}, its weights {weights.dtype}")
    if array.shape not in ((directions,), (directions, 4 * hidden)):
        raise ctx.error(f"{what} has shape {list(array.shape)}, expected [{directions}] or [{directions}, {4 * hidden}]")
    per_direction = array.reshape(directions, -1).astype(np.int32)
    if weights.dtype == np.int8 and per_direction.any():
        raise ctx.error(f"{what} must be zero for int8 weights")
    if (per_direction != per_direction[:, :1]).any():
        raise ctx.error(f"{what} must be one value per direction")
    return np.ascontiguousarray(per_direction[:, 0])


@converter("DynamicQuantizeLSTM", since=1, domain="com.microsoft")
def convert_dynamic_quantize_lstm(ctx):
    x = ctx.required_input(0)
    if x.type.rank != 3 or x.type.dtype != "float32":
        raise ctx.unsupported(f"X must be a 3-d float32 tensor, got {x.type}")
    for index in (1, 2, 8, 9, 10, 11):
        ctx.required_input(index)
    w, r = ctx.constant(1, "W"), ctx.constant(2, "R")
    direction = ctx.attr("direction", "forward")
    if direction not in DIRECTIONS:
        raise ctx.error(f"direction must be forward, reverse or bidirectional, got {direction!r}")
    directions = DIRECTIONS[direction]
    if w.ndim != 3 or r.ndim != 3 or r.shape[0] != directions or r.shape[2] != 4 * r.shape[1]:
        raise ctx.error(f"W {list(w.shape)} and R {list(r.shape)} are not [D, I, 4H] and [D, H, 4H] "
                        f"for {directions} direction(s)")
    hidden = r.shape[1]
    if ctx.attr("hidden_size", hidden) != hidden:
        raise ctx.error(f"hidden_size is {ctx.attr('hidden_size')}, R has shape {list(r.shape)}")
    if w.shape[0] != directions or w.shape[2] != 4 * hidden or w.shape[1] != x.type.shape[2]:
        raise ctx.error(f"W has shape {list(w.shape)}, expected {[directions, x.type.shape[2], 4 * hidden]}")
    for weights, what in ((w, "W"), (r, "R")):
        if weights.dtype not in (np.int8, np.uint8):
            raise ctx.unsupported(f"{what} of element type {weights.dtype} (convrnn claims int8 and uint8)")
    if not _activations_are_default(ctx, directions):
        raise ctx.unsupported(f"activations {ctx.attr('activations')} (convrnn claims the default "
                              f"Sigmoid, Tanh, Tanh)")
    clip = ctx.attr("clip")
    if clip is not None and clip <= 0:
        raise ctx.error(f"clip must be positive, got {clip}")

    bias = ctx.constant(3, "B")
    bias = np.zeros((directions, 8 * hidden), np.float32) if bias is None else bias.astype(np.float32)
    if bias.shape != (directions, 8 * hidden):
        raise ctx.error(f"B has shape {list(bias.shape)}, expected {[directions, 8 * hidden]}")
    peepholes = ctx.constant(7, "P")
    if peepholes is not None and peepholes.shape != (directions, 3 * hidden):
        raise ctx.error(f"P has shape {list(peepholes.shape)}, expected {[directions, 3 * hidden]}")

    lens = ctx.input(4)
    if lens is not None and (lens.type.dtype != "int32" or lens.type.rank != 1):
        raise ctx.error(f"sequence_lens must be an int32 vector, got {lens.type}")
    states = []
    for index, name in ((5, "initial_h"), (6, "initial_c")):
        value = ctx.input(index)
        if value is not None and (value.type.rank != 3 or value.type.dtype != "float32"):
            raise ctx.error(f"{name} must be a 3-d float32 tensor, got {value.type}")
        states.append(value if value is not None else
                      ctx.make_constant(np.zeros((directions, 1, hidden), np.float32), f"no_{name}"))

    fused_bias = bias[:, :4 * hidden] + bias[:, 4 * hidden:]
    has_peepholes = peepholes is not None
    peepholes = (np.zeros((directions, 3, hidden), np.float32) if peepholes is None
                 else peepholes.astype(np.float32).reshape(directions, 3, hidden))
    w_scale = _per_column(ctx, ctx.constant(8, "W_scale"), directions, hidden, "W_scale")
    r_scale = _per_column(ctx, ctx.constant(10, "R_scale"), directions, hidden, "R_scale")
    w_zero = _zero_points(ctx, ctx.constant(9, "W_zero_point"), w, directions, hidden, "W_zero_point")
    r_zero = _zero_points(ctx, ctx.constant(11, "R_zero_point"), r, directions, hidden, "R_zero_point")
    lens_input = lens if lens is not None else ctx.make_constant(np.zeros(1, np.int32), "no_sequence_lens")
    inputs = [
        x, ctx.make_constant(np.ascontiguousarray(w), "W"), ctx.make_constant(np.ascontiguousarray(r), "R"),
        ctx.make_constant(fused_bias, "fused_bias"), lens_input, *states, ctx.make_constant(peepholes, "P"),
        ctx.make_constant(w_scale, "W_scale"), ctx.make_constant(w_zero, "W_zero"),
        ctx.make_constant(r_scale, "R_scale"), ctx.make_constant(r_zero, "R_zero")]
    names = [ctx.node.output[i] if i < len(ctx.node.output) else "" for i in range(3)]
    attrs = {"hidden_size": hidden, "input_size": int(w.shape[1]), "num_directions": directions,
             "reverse": int(direction == "reverse"), "input_forget": int(ctx.attr("input_forget", 0)),
             "clip": None if clip is None else float(clip), "store_y": int(bool(names[0])),
             "has_lens": int(lens is not None), "has_initial_h": int(ctx.input(5) is not None),
             "has_initial_c": int(ctx.input(6) is not None), "has_peepholes": int(has_peepholes),
             "w_dtype": str(w.dtype), "r_dtype": str(r.dtype), "packed": 0}
    outputs = ctx.builder.emit("DynamicQuantizeLSTM", inputs, attrs, hints=names, node_name=ctx.name)
    return [value if name else None for value, name in zip(outputs, names)]
