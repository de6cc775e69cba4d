"""LSTM, GRU and RNN (opsets 7, 14 and 22 share these semantics; 14 added `layout`) ->
IR LSTMLayer | GRULayer | RNNLayer (schedules/ops/recurrent_layer.py), W, R, B and P checked
and in ONNX's layout; they must be constants. A target's passes make the kernels (the CPU's
hoist the input projection out of the time loop and pack the weights:
compiler/passes/pack_recurrent_weights.py). The node's layout stays (layout 1's batch-first X,
Y and states are read and written in place, without transposes). Absent optional inputs become
small zero constants flagged absent in the attrs (B and P: zeros).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from convrnn.frontend.registry import converter
from convrnn.schedules.recurrent_activations import DEFAULTS, canonical_name

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}


@converter("LSTM", "GRU", "RNN", since=7)
def convert_recurrent(ctx):
    op = ctx.node.op_type
    gates = GATES[op]
    x = ctx.required_input(0)
    for index in (1, 2):
        ctx.required_input(index)  # a clear error when W or R is missing
    w, r = ctx.constant(1, "W").astype(np.float32), ctx.constant(2, "R").astype(np.float32)
    direction = ctx.attr("direction", "forward")
    if direction not in DIRECTIONS:
        raise ctx.error(f"direction must be forward, reverse or bidirectional, got {direction!r}")
    directions = DIRECTIONS[direction]
    layout = int(ctx.attr("layout", 0))
    if layout not in (0, 1):
        raise ctx.error(f"layout must be 0 or 1, got {layout}")
    if x.type.rank != 3 or x.type.dtype != "float32":
        raise ctx.unsupported(f"X must be a 3-d float32 tensor, got {x.type}")
    hidden = _check_weights(ctx, w, r, x.type.shape[2], gates, directions)

    linear_before_reset = int(ctx.attr("linear_before_reset", 0)) if op == "GRU" else 0
    attrs = {"hidden_size": hidden, "num_directions": directions, "reverse": int(direction == "reverse"),
             "activations": _activations(ctx, op, directions), "clip": _clip(ctx),
             "has_lens": int(ctx.input(4) is not None), "layout": layout}
    inputs = [x, ctx.make_constant(w, "W"), ctx.make_constant(r, "R"),
              ctx.make_constant(_bias(ctx, gates, directions, hidden), "B")]
    if op == "LSTM":
        inputs.append(ctx.make_constant(_peepholes(ctx, directions, hidden), "P"))
        attrs["input_forget"] = int(ctx.attr("input_forget", 0))
    if op == "GRU":
        attrs["linear_before_reset"] = linear_before_reset
    inputs.append(_sequence_lens(ctx, x.type.shape[layout]))
    for index, name in [(5, "initial_h"), (6, "initial_c")][:2 if op == "LSTM" else 1]:
        attrs[f"has_{name}"] = int(ctx.input(index) is not None)
        inputs.append(_initial_state(ctx, index, name, layout, directions, hidden))

    names = [ctx.node.output[i] if i < len(ctx.node.output) else "" for i in range(3 if op == "LSTM" else 2)]
    outputs = ctx.builder.emit(f"{op}Layer", inputs, attrs, hints=names, node_name=ctx.name)
    return [value if name else None for value, name in zip(outputs, names)]


def _check_weights(ctx, w: np.ndarray, r: np.ndarray, inputs, gates: int, directions: int) -> int:
    if w.ndim != 3 or r.ndim != 3:
        raise ctx.error(f"W and R must be 3-d, got shapes {list(w.shape)} and {list(r.shape)}")
    hidden = r.shape[2]
    declared = ctx.attr("hidden_size")
    if declared is not None and declared != hidden:
        raise ctx.error(f"hidden_size is {declared}, but R has shape {list(r.shape)} (hidden size {hidden})")
    if r.shape != (directions, gates * hidden, hidden):
        raise ctx.error(f"R has shape {list(r.shape)}, expected {[directions, gates * hidden, hidden]} "
                        f"({directions} direction(s), {gates} gate(s) of hidden size {hidden})")
    if w.shape[:2] != (directions, gates * hidden) or (isinstance(inputs, int) and w.shape[2] != inputs):
        raise ctx.error(f"W has shape {list(w.shape)}, expected {[directions, gates * hidden, inputs]}")
    return hidden


def _bias(ctx, gates: int, directions: int, hidden: int) -> np.ndarray:
    bias = ctx.constant(3, "B")
    if bias is None:
        return np.zeros((directions, 2 * gates * hidden), np.float32)
    if bias.shape != (directions, 2 * gates * hidden):
        raise ctx.error(f"B has shape {list(bias.shape)}, expected {[directions, 2 * gates * hidden]}")
    return bias.astype(np.float32)


def _peepholes(ctx, directions: int, hidden: int) -> np.ndarray:
    p = ctx.constant(7, "P")
    if p is None:
        return np.zeros((directions, 3 * hidden), np.float32)
    if p.shape != (directions, 3 * hidden):
        raise ctx.error(f"P has shape {list(p.shape)}, expected {[directions, 3 * hidden]}")
    return p.astype(np.float32)


def _activations(ctx, op: str, directions: int) -> list:
    """[[name, alpha, beta] per activation] per direction; alpha and beta lists are consumed in
    order by the functions that take them, as onnxruntime does."""
    per_direction = len(DEFAULT_ACTIVATIONS[op])
    names = ctx.attr("activations") or DEFAULT_ACTIVATIONS[op] * directions
    if len(names) == per_direction and directions == 2:
        names = names * 2
    if len(names) != per_direction * directions:
        raise ctx.error(f"activations lists {len(names)} functions, expected {per_direction * directions}")
    alphas, betas = list(ctx.attr("activation_alpha") or []), list(ctx.attr("activation_beta") or [])
    chosen = []
    for name in names:
        canonical = canonical_name(name)
        if canonical is None:
            raise ctx.unsupported(f"activation {name!r} (supported: {', '.join(DEFAULTS)})")
        alpha, beta = DEFAULTS[canonical]
        alpha = float(alphas.pop(0)) if alpha is not None and alphas else alpha
        beta = float(betas.pop(0)) if beta is not None and betas else beta
        chosen.append([canonical, alpha, beta])
    return [chosen[d * per_direction:(d + 1) * per_direction] for d in range(directions)]


def _clip(ctx) -> Optional[float]:
    clip = ctx.attr("clip")
    if clip is not None and clip <= 0:
        raise ctx.error(f"clip must be positive, got {clip}")
    return None if clip is None else float(clip)


def _sequence_lens(ctx, seq):
    value = ctx.input(4)
    if value is None:
        return ctx.make_constant(np.zeros(1, np.int32), "no_sequence_lens")
    if value.type.dtype != "int32" or value.type.rank != 1:
        raise ctx.error(f"sequence_lens must be an int32 vector, got {value.type}")
    known = ctx.builder.constant_of(value)
    if known is not None and ((known < 0).any() or (isinstance(seq, int) and (known > seq).any())):
        raise ctx.error(f"sequence_lens {known.tolist()} must lie in [0, {seq}] (the sequence length of X)")
    return value


def _initial_state(ctx, index: int, name: str, layout: int, directions: int, hidden: int):
    value = ctx.input(index)
    if value is None:
        return ctx.make_constant(np.zeros((1, directions, hidden) if layout else (directions, 1, hidden), np.float32),
                                 f"no_{name}")
    if value.type.rank != 3 or value.type.dtype != "float32":
        raise ctx.error(f"{name} must be a 3-d float32 tensor, got {value.type}")
    return value
