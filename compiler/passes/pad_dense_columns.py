"""Pad a constant B's columns to whole vectors in a MatMul whose column count no vector width
divides (a classifier's 6625 classes, 5 x 5 x 5 x 53).

The dense template tiles columns by divisors of their count, so such a product ran its
columns a few at a time, scalar (PP-OCR's recognizer's output layer: 2% of the FMA peak).
With B padded by zero columns once, here, the product runs in whole vectors into a buffer of
its own and the real columns are copied out with the epilogue (attr "columns"): one copy of
the output for tiles of full width.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.conv_layout import ACTIVATION_BLOCK

VECTOR = ACTIVATION_BLOCK  # the widest float32 vector the CPU templates use


def pad_dense_columns(graph: Graph) -> Graph:
    constants = dict(graph.constants)
    constant_values = dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    nodes, changed = [], False
    for node in graph.nodes:
        b = node.inputs[1] if node.op == "MatMul" and len(node.inputs) > 1 else None
        weight = constants.get(b.name) if b is not None else None
        columns = weight.shape[-1] if weight is not None and weight.ndim == 2 else 0
        if (weight is None or "columns" in node.attrs or weight.dtype != np.float32 or columns <= VECTOR
                or columns % VECTOR == 0):
            nodes.append(node)
            continue
        padded = np.zeros((weight.shape[0], -(-columns // VECTOR) * VECTOR), np.float32)
        padded[:, :columns] = weight
        value = Value(names(f"{b.name}_padded"), TensorType(padded.shape, "float32"))
        constants[value.name], constant_values[value.name] = padded, value
        nodes.append(Node(node.op, (node.inputs[0], value, *node.inputs[2:]), node.outputs,
                          dict(node.attrs, columns=columns), name=node.name))
        changed = True
    if not changed:
        return graph
    return graph.with_nodes(nodes, constants, constant_values)
