"""Recurrences write their sequence output Y in the order its only reader transposes it to.

ONNX's Y is [seq, directions, batch, hidden]; PyTorch's exporter follows every LSTM, GRU and
RNN with Transpose(perm [0, 2, 1, 3]) to get its own [seq, batch, directions, hidden] (and
then a Reshape, a view). When that Transpose is Y's only reader, the cell writes the
transposed order itself (`y_order="sbdh"`, schedules/ops/recurrent.py) and the Transpose
goes: one kernel and one copy of the sequence fewer per layer.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node
from convrnn.schedules.ops.recurrent_layer import RECURRENCE_INPUTS

TO_BATCH_MAJOR = [0, 2, 1, 3]


def fold_sequence_transpose(graph: Graph) -> Graph:
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    replaced: dict[int, Node] = {}
    folded: set[int] = set()
    for node in graph.nodes:
        y = node.outputs[0]
        if (node.op not in RECURRENCE_INPUTS or node.attrs.get("layout", 0) != 0 or not node.attrs.get("store_y", 1)
                or node.attrs.get("y_order", "sdbh") != "sdbh" or id(y) in outputs):
            continue
        (transpose, *others) = readers.get(id(y), [None])
        if others or transpose is None or transpose.op != "Transpose" or transpose.attrs["perm"] != TO_BATCH_MAJOR:
            continue
        replaced[id(node)] = Node(node.op, node.inputs, (transpose.outputs[0], *node.outputs[1:]),
                                  dict(node.attrs, y_order="sbdh"), name=node.name)
        folded.add(id(transpose))
    if not replaced:
        return graph
    return graph.replace(nodes=[replaced.get(id(n), n) for n in graph.nodes if id(n) not in folded])
