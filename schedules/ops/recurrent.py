"""Recurrent layers: LSTM, GRU and RNN time loops, and the input projection hoisted out of them.

The frontend (frontend/ops/recurrent.py) lowers one ONNX recurrence to
  RecurrentProjection(X, W packed, bias) -> XW [seq, batch, directions * gates * Hp]
  LSTM | GRU | RNN(XW, RT packed, ..., sequence_lens, initial states) -> Y, Y_h (, Y_c)
in layout 0 ([seq, directions, batch, hidden] for Y) or, without transposes, in layout 1.
Both ops are written directly in TIR (schedules/cpu/recurrent_gemm.py, schedules/cpu/recurrent.py):
TE cannot express the time loop.

Cell attrs: hidden_size, num_directions, reverse (direction 0 runs backwards), tile,
activations (per direction: [[name, alpha, beta], ...]), clip (None or a float), has_lens,
has_initial_h (and for LSTM has_initial_c, input_forget; for GRU linear_before_reset);
optional: layout (1: XW, Y and the states batch-first, as ONNX's layout 1; default 0),
y_order (layout 0 only: "sdbh", ONNX's [seq, directions, batch, hidden], the default, or "sbdh",
[seq, batch, directions, hidden], PyTorch's order: passes/fold_sequence_transpose.py) and
store_y (0: Y is not written and its output is a 1x1x1x1 placeholder; default 1), and the
step kernel's knobs rows_tile, rows, split, serial (schedules/cpu/recurrent_knobs.py) where an
import override sets them (else a tuner's "knobs" or the target's defaults do).
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.registry import OpDef, register

CELL_INPUTS = {
    "LSTM": ("XW", "RT", "P", "sequence_lens", "initial_h", "initial_c"),
    "GRU": ("XW", "RT", "RT_h", "RB", "sequence_lens", "initial_h"),
    "RNN": ("XW", "RT", "sequence_lens", "initial_h"),
}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# Gates of each packed recurrent weight input (GRU's h gate is packed apart: it may run alone).
PACKED_GATES = {"RT": {"LSTM": 4, "GRU": 2, "RNN": 1}, "RT_h": {"GRU": 1}}


@register
class RecurrentProjection(OpDef):
    """out[a, b, :] = X[a, b, :] · W + bias, W packed [columns / column_tile, inputs, column_tile]."""

    name = "RecurrentProjection"

    def infer(self, inputs, attrs):
        x, w, bias = inputs
        tiles, width, column_tile = w.shape
        fits = x.rank == 3 and equate(x.shape[2], width, "the projection's input size") == width
        if not fits or column_tile != attrs["column_tile"]:
            raise ValueError(f"projection of {x} by packed weights {w} does not fit")
        if bias.shape != (tiles * column_tile,):
            raise ValueError(f"projection bias {bias} does not match {tiles * column_tile} columns")
        return [TensorType((x.shape[0], x.shape[1], tiles * column_tile), x.dtype)]


def named_inputs(op: str, names: tuple, inputs) -> dict:
    """A recurrence's input types by name, every one present (absent ones are constants)."""
    if len(inputs) != len(names) or any(v is None for v in inputs):
        raise ValueError(f"{op} takes {', '.join(names)}")
    return dict(zip(names, inputs))


class _Cell(OpDef):
    def infer(self, inputs, attrs):
        types = named_inputs(self.name, CELL_INPUTS[self.name], inputs)
        xw = types["XW"]
        hidden, directions, tile = attrs["hidden_size"], attrs["num_directions"], attrs["tile"]
        padded = -(-hidden // tile) * tile
        gates = GATES[self.name]
        if tile % attrs.get("rows_tile", tile):
            raise ValueError(f"rows_tile {attrs['rows_tile']} does not divide tile {tile}")
        if xw.rank != 3 or xw.shape[2] != directions * gates * padded:
            raise ValueError(f"projected input {xw} does not hold {directions} x {gates} gates of {padded} units")
        for name, packed in PACKED_GATES.items():
            if name in types and types[name].shape != (directions, padded // tile, hidden, packed[self.name], tile):
                raise ValueError(f"packed recurrent weights {types[name]} do not match hidden_size {hidden}")
        seq, batch = (xw.shape[1], xw.shape[0]) if attrs.get("layout", 0) else xw.shape[:2]
        return sequence_output_types(self.name, seq, batch, xw.dtype, types, attrs)


for _name in GATES:
    register(type(_name, (_Cell,), {"name": _name}))


def sequence_output_types(cell: str, seq, batch, dtype: str, types: dict, attrs) -> list[TensorType]:
    """Y, Y_h (and LSTM's Y_c) of a recurrence, its initial states (in `types`) checked; shared
    by the cells and the layers (recurrent_layer.py)."""
    hidden, directions = attrs["hidden_size"], attrs["num_directions"]
    layout, y_order = attrs.get("layout", 0), attrs.get("y_order", "sdbh")
    if y_order not in (("sdbh",) if layout else ("sdbh", "sbdh")):
        raise ValueError(f"y_order {y_order!r} is not 'sdbh' or (layout 0 only) 'sbdh'")
    for state in ("initial_h", "initial_c"):
        if state in types and (types[state].rank != 3 or types[state].shape[layout] != directions
                               or types[state].shape[2] != hidden):
            expected = f"[batch, {directions}, {hidden}]" if layout else f"[{directions}, batch, {hidden}]"
            raise ValueError(f"{state} {types[state]} is not {expected}")
    if types["sequence_lens"].dtype != "int32" or types["sequence_lens"].rank != 1:
        raise ValueError(f"sequence_lens must be an int32 vector, got {types['sequence_lens']}")
    if layout:  # batch-first, as ONNX's layout 1
        y = (batch, seq, directions, hidden)
        state = TensorType((batch, directions, hidden), dtype)
    else:
        y = (seq, batch, directions, hidden) if y_order == "sbdh" else (seq, directions, batch, hidden)
        state = TensorType((directions, batch, hidden), dtype)
    # Y that nothing reads is not written: a placeholder (passes/skip_unused_sequence_output.py)
    y = TensorType(y if attrs.get("store_y", 1) else (1, 1, 1, 1), dtype)
    return [y, state, state] if cell == "LSTM" else [y, state]
