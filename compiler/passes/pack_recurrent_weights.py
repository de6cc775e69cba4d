"""Make the CPU kernels of each recurrent layer (schedules/ops/recurrent_layer.py): hoist its
input projection out of the time loop as one GEMM over every step, and pack its weights once,
here, in numpy, for the vector kernels.

  LSTMLayer | GRULayer | RNNLayer(X, W, R, B, ...)
    -> RecurrentProjection(X, W packed per column tile, Wb + Rb) -> XW
    -> LSTM | GRU | RNN(XW, R packed per hidden tile, ...) -> the layer's own outputs

Gates are padded to whole tiles of hidden units (schedules/cpu/recurrent_knobs.py chooses
them, for 16 float32 lanes: an AVX-512 vector, two AVX2 ones) and the biases pre-summed (GRU's
recurrent bias of the h gate stays apart under linear_before_reset, which applies it inside
r ⊙ (h · Rhᵀ + Rbh)). The layer's attrs carry over to the cell.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NewValues, Node, TensorType, Value
from convrnn.schedules.cpu.recurrent import pack_recurrent
from convrnn.schedules.cpu.recurrent_gemm import pack_columns
from convrnn.schedules.cpu.recurrent_knobs import knobs
from convrnn.schedules.ops.recurrent import GATES
from convrnn.schedules.ops.recurrent_layer import CELL_OF_LAYER, LAYER_INPUTS

PACKING_LANES = 16
# the kernel's own choices that an import override may fix (recurrent_knobs.knobs)
KNOB_OVERRIDES = ("rows_tile", "rows", "split", "serial")


def pack_recurrent_weights(graph: Graph) -> Graph:
    layers = [node for node in graph.nodes if node.op in LAYER_INPUTS and _weights_are_constant(node, graph)]
    if not layers:
        return graph
    new = NewValues(graph)
    nodes = []
    for node in graph.nodes:
        nodes += _cell_of(node, graph.constants, new) if node in layers else [node]
    return new.graph_with(graph, nodes)


def _weights_are_constant(node: Node, graph: Graph) -> bool:
    return all(graph.is_constant(value) for name, value in zip(LAYER_INPUTS[node.op], node.inputs)
               if name in ("W", "R", "B", "P"))


def _cell_of(node: Node, arrays: dict, new: NewValues) -> list[Node]:
    op, attrs = CELL_OF_LAYER[node.op], node.attrs
    inputs = dict(zip(LAYER_INPUTS[node.op], node.inputs))
    gates, hidden, directions = GATES[op], attrs["hidden_size"], attrs["num_directions"]
    w, r, bias = (arrays[inputs[name].name].astype(np.float32) for name in ("W", "R", "B"))
    tuned = knobs(hidden, directions, gates, PACKING_LANES)
    tile = tuned["tile"]
    padded = -(-hidden // tile) * tile
    projection_bias, recurrent_h_bias = _biases(bias, gates, hidden, attrs.get("linear_before_reset", 0))
    projection = _projection(node, inputs["X"], _pad_gates(w, gates, hidden, padded),
                             _pad_gates(projection_bias, gates, hidden, padded), tuned, new)
    xw = projection.outputs[0]
    cell_attrs = {**attrs, "tile": tile}
    cell_attrs.update({knob: tuned[knob] for knob in KNOB_OVERRIDES if knob in tuned})
    if op == "GRU":  # z and r, then h apart (schedules/cpu/recurrent.py)
        cell_inputs = [xw, new.constant(pack_recurrent(r[:, :2 * hidden], 2, tile), "R_zr_packed"),
                       new.constant(pack_recurrent(r[:, 2 * hidden:], 1, tile), "R_h_packed"),
                       new.constant(_pad_gates(recurrent_h_bias, 1, hidden, padded)[:, 0], "Rb_h")]
    else:
        cell_inputs = [xw, new.constant(pack_recurrent(r, gates, tile), "R_packed")]
    if op == "LSTM":
        peepholes = arrays[inputs["P"].name].astype(np.float32)
        cell_inputs.append(new.constant(_pad_gates(peepholes, 3, hidden, padded), "P"))
    cell_inputs += [inputs[name] for name in ("sequence_lens", "initial_h", "initial_c") if name in inputs]
    return [projection, Node(op, tuple(cell_inputs), node.outputs, cell_attrs, name=node.name)]


def _biases(bias: np.ndarray, gates: int, hidden: int, linear_before_reset: int):
    """The bias the projection adds (Wb + Rb, pre-summed), and GRU's recurrent bias of the h
    gate, which linear_before_reset applies inside the reset product (zeros otherwise)."""
    w_bias, r_bias = bias[:, :gates * hidden], bias[:, gates * hidden:]
    summed = w_bias + r_bias
    recurrent_h_bias = np.zeros((bias.shape[0], hidden), np.float32)
    if linear_before_reset:
        summed[:, 2 * hidden:] = w_bias[:, 2 * hidden:]
        recurrent_h_bias = r_bias[:, 2 * hidden:]
    return summed, recurrent_h_bias


def _projection(node: Node, x: Value, w: np.ndarray, bias: np.ndarray, tuned: dict, new: NewValues) -> Node:
    """X · Wᵀ + bias for all time steps as one GEMM; w [D, gates, padded, inputs], bias [D, gates, padded]."""
    columns = bias.size
    column_tile = tuned["column_tile"] if columns % tuned["column_tile"] == 0 else PACKING_LANES
    w_t = np.ascontiguousarray(w.reshape(columns, -1).T)  # [inputs, columns]
    xw = new.value(f"{node.name}_xw", TensorType((*x.type.shape[:2], columns), x.type.dtype))
    inputs = (x, new.constant(pack_columns(w_t, column_tile), "W_packed"), new.constant(bias.reshape(-1), "bias"))
    return Node("RecurrentProjection", inputs, (xw,), {"column_tile": column_tile, "row_tile": tuned["row_tile"]},
                name=node.name)


def _pad_gates(array: np.ndarray, gates: int, hidden: int, padded: int) -> np.ndarray:
    """[D, gates * hidden, ...] -> [D, gates, padded, ...], zero-filled past hidden."""
    out = np.zeros((array.shape[0], gates, padded) + array.shape[2:], np.float32)
    out[:, :, :hidden] = array.reshape((array.shape[0], gates, hidden) + array.shape[2:])
    return out
