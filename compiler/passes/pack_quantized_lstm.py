"""Pack a DynamicQuantizeLSTM's constant weights once, here, for the CPU's vector kernel
(schedules/cpu/dynamic_quantize_lstm_packed.py, attr `packed` 1): W and R minus their zero
points as int8 in the dot-product layout with their column sums, the bias, peepholes and
scales in whole tiles of columns. Where a weight minus its zero point does not fit int8 (a
uint8 weight far from its zero point) the node keeps the plain form the frontend emits, and
the serial kernel runs it.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NewValues, Node
from convrnn.schedules.cpu.dynamic_quantize_lstm_packed import pack_columns, pack_weights, padded_sizes
from convrnn.schedules.ops.dynamic_quantize_lstm import INPUTS

CONSTANT_INPUTS = ("W", "R", "B", "P", "W_scale", "W_zero", "R_scale", "R_zero")


def pack_quantized_lstm(graph: Graph) -> Graph:
    new = NewValues(graph)
    nodes, changed = [], False
    for node in graph.nodes:
        inputs = dict(zip(INPUTS, node.inputs)) if node.op == "DynamicQuantizeLSTM" else {}
        if not inputs or node.attrs.get("packed") or not all(graph.is_constant(inputs[n]) for n in CONSTANT_INPUTS):
            nodes.append(node)
            continue
        arrays = {name: graph.constants[inputs[name].name] for name in CONSTANT_INPUTS}
        hidden, directions = node.attrs["hidden_size"], node.attrs["num_directions"]
        _, padded, inputs_padded = padded_sizes(hidden, node.attrs["input_size"])
        packed_w = pack_weights(arrays["W"], arrays["W_zero"], hidden, inputs_padded)
        packed_r = pack_weights(arrays["R"], arrays["R_zero"], hidden, padded)
        if packed_w is None or packed_r is None:
            nodes.append(node)
            continue
        peepholes = np.zeros((directions, 3, padded), np.float32)
        peepholes[:, :, :hidden] = arrays["P"]
        packed = (
            inputs["X"], new.constant(packed_w[0], "W_packed"), new.constant(packed_w[1], "W_sum"),
            new.constant(packed_r[0], "R_packed"), new.constant(packed_r[1], "R_sum"),
            new.constant(pack_columns(arrays["B"], hidden), "fused_bias"),
            inputs["sequence_lens"], inputs["initial_h"], inputs["initial_c"], new.constant(peepholes, "P"),
            new.constant(pack_columns(arrays["W_scale"], hidden), "W_scale"),
            new.constant(pack_columns(arrays["R_scale"], hidden), "R_scale"))
        nodes.append(Node(node.op, packed, node.outputs, {**node.attrs, "packed": 1}, name=node.name))
        changed = True
    return new.graph_with(graph, nodes) if changed else graph
