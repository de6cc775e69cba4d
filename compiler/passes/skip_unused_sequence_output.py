"""Recurrences whose sequence output Y nothing reads stop writing it.

A classifier that keeps only the last state (Keras's return_sequences=False, a PyTorch model
using h_n) would otherwise store [seq, directions, batch, hidden] floats per call: for a long
sequence that is the largest buffer of the model. The cell gets `store_y=0` and its Y becomes
a 1x1x1x1 placeholder (schedules/ops/recurrent.py), so the memory plan gives it no room.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node, TensorType, Value
from convrnn.schedules.ops.recurrent_layer import RECURRENCE_INPUTS


def skip_unused_sequence_output(graph: Graph) -> Graph:
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    replaced = {}
    for node in graph.nodes:
        y = node.outputs[0]
        if node.op not in RECURRENCE_INPUTS or not node.attrs.get("store_y", 1) or id(y) in outputs or readers.get(id(y)):
            continue
        placeholder = Value(y.name, TensorType((1, 1, 1, 1), y.type.dtype))
        replaced[id(node)] = Node(node.op, node.inputs, (placeholder, *node.outputs[1:]),
                                  dict(node.attrs, store_y=0), name=node.name)
    if not replaced:
        return graph
    return graph.replace(nodes=[replaced.get(id(n), n) for n in graph.nodes])
