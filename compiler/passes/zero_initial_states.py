"""Recurrences whose initial state is all zeros start from zero without reading it.

PyTorch exports an LSTM called without (h0, c0) with zero states built at run time (the batch
is symbolic, so they cannot be folded): ConstantOfShape -> Slice per layer, a kernel each. A
state input that is zeros by construction (a zero constant, moved or sliced by ops that only
copy elements) becomes absent, as ONNX's omitted input is (`has_initial_h/c` 0, a small zero
constant in its place), and the kernels that built it are left to eliminate_dead_code.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.ops.recurrent_layer import RECURRENCE_INPUTS

# ops whose every output element is a copy of an element of the first input (or, for Concat,
# of one of its inputs): zeros in, zeros out
COPYING = ("Expand", "Slice", "Reshape", "Transpose", "Cast")
# state input position -> its has_* attr, per cell
STATES = {cell: {names.index(state): f"has_{state}" for state in ("initial_h", "initial_c") if state in names}
          for cell, names in RECURRENCE_INPUTS.items()}


def _zero_values(graph: Graph) -> set[int]:
    zero = {id(value) for name, value in graph.constant_values.items() if not np.any(graph.constants[name])}
    for node in graph.nodes:
        sources = node.inputs if node.op == "Concat" else node.inputs[:1]
        if (node.op in COPYING or node.op == "Concat") and sources and all(
                v is not None and id(v) in zero for v in sources):
            zero.update(id(v) for v in node.outputs)
    return zero


def zero_initial_states(graph: Graph) -> Graph:
    zero = _zero_values(graph)
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    replaced: dict[int, Node] = {}
    for node in graph.nodes:
        states = {i: flag for i, flag in STATES.get(node.op, {}).items()
                  if node.attrs.get(flag) and id(node.inputs[i]) in zero}
        if not states:
            continue
        inputs, attrs = list(node.inputs), dict(node.attrs)
        directions, hidden = attrs["num_directions"], attrs["hidden_size"]
        shape = (1, directions, hidden) if attrs.get("layout", 0) else (directions, 1, hidden)
        for index, flag in states.items():
            absent = Value(names(f"{node.name}_no_{flag[4:]}"), TensorType(shape, "float32"))
            constants[absent.name], constant_values[absent.name] = np.zeros(shape, np.float32), absent
            inputs[index], attrs[flag] = absent, 0
        replaced[id(node)] = Node(node.op, tuple(inputs), node.outputs, attrs, name=node.name)
    if not replaced:
        return graph
    return graph.with_nodes([replaced.get(id(n), n) for n in graph.nodes], constants, constant_values)
