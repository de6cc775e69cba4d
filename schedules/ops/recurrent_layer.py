"""LSTMLayer, GRULayer, RNNLayer: a whole ONNX recurrence with its weights in ONNX's layout, as
the frontend emits it (frontend/ops/recurrent.py), for every target.

Inputs: X [seq, batch, inputs] ([batch, seq, inputs] in layout 1), W [D, gates * H, inputs],
R [D, gates * H, H], B [D, 2 * gates * H] (zeros where the model has none), LSTM's P [D, 3 * H]
(zeros where absent), sequence_lens, initial_h (and LSTM's initial_c); absent optional inputs
are small zero constants flagged absent in the attrs, as for the cells. Attrs as the cells'
(schedules/ops/recurrent.py) less what packing chooses (tile, rows_tile, ...): hidden_size,
num_directions, reverse, activations, clip, has_lens, layout, has_initial_h (LSTM: has_initial_c,
input_forget; GRU: linear_before_reset), and y_order and store_y where passes set them.
A target makes its kernels of a layer: on the CPU, compiler/passes/pack_recurrent_weights.py
hoists the input projection out of the time loop and packs the weights for the vector lanes
(RecurrentProjection + LSTM | GRU | RNN).
"""
from __future__ import annotations

from convrnn.compiler.symbolic_dims import equate
from convrnn.schedules.ops.recurrent import CELL_INPUTS, GATES, named_inputs, sequence_output_types
from convrnn.schedules.registry import OpDef, register

LAYER_INPUTS = {
    "LSTMLayer": ("X", "W", "R", "B", "P", "sequence_lens", "initial_h", "initial_c"),
    "GRULayer": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNNLayer": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
CELL_OF_LAYER = {"LSTMLayer": "LSTM", "GRULayer": "GRU", "RNNLayer": "RNN"}
# every op holding a time loop, by its inputs' names: the passes over states and Y take either form
RECURRENCE_INPUTS = {**CELL_INPUTS, **LAYER_INPUTS}


class _Layer(OpDef):
    def infer(self, inputs, attrs):
        types = named_inputs(self.name, LAYER_INPUTS[self.name], inputs)
        cell = CELL_OF_LAYER[self.name]
        gates, hidden, directions = GATES[cell], attrs["hidden_size"], attrs["num_directions"]
        x = types["X"]
        if x.rank != 3:
            raise ValueError(f"X {x} is not 3-d")
        expected = {"W": (directions, gates * hidden, types["W"].shape[-1]), "R": (directions, gates * hidden, hidden),
                    "B": (directions, 2 * gates * hidden), "P": (directions, 3 * hidden)}
        for name, shape in expected.items():
            if name in types and tuple(types[name].shape) != shape:
                raise ValueError(f"{name} {types[name]} is not {list(shape)} for hidden_size {hidden}")
        equate(x.shape[2], types["W"].shape[2], "the recurrence's input size")
        layout = attrs.get("layout", 0)
        seq, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
        return sequence_output_types(cell, seq, batch, x.dtype, types, attrs)


@register
class LSTMLayer(_Layer):
    name = "LSTMLayer"


@register
class GRULayer(_Layer):
    name = "GRULayer"


@register
class RNNLayer(_Layer):
    name = "RNNLayer"
