"""Recognize HardSwish written out as x * Clip(x + 3, 0, 6) / 6 (Paddle's exporter writes every
MobileNetV3 activation so: PP-OCR's recognizers, detector and table model).

Spelled out, the activation reads its input twice, so no anchor can take it as an epilogue
and each conv's result makes a round trip through memory; as one HardSwish it fuses into the
conv's write-back (fuse_epilogue) and the conv chain can go blocked.

Matched: Add(x, 3) -> Clip(0, 6) -> Mul with x (either operand order) -> Div by 6 or Mul by
1/6, every intermediate read only by the next step, the constants scalars (any shape of one
element). The HardSwish produces the last step's value, so readers are untouched; x's other
readers keep x. It rounds as HardSwish does (x * max(0, min(1, x / 6 + 1 / 2))): within an ulp
or two of the spelled-out form.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from convrnn.compiler.ir import Graph, Node, Value


def _scalar(graph: Graph, value: Optional[Value]) -> Optional[float]:
    if value is None or not graph.is_constant(value):
        return None
    array = graph.constants[value.name]
    return float(array.reshape(-1)[0]) if array.size == 1 and array.dtype.kind == "f" else None


def _other(node: Node, value: Value) -> Optional[Value]:
    a, b = node.inputs[:2]
    return b if a is value else a if b is value else None


def _only_reader(readers: dict, value: Value, op: str) -> Optional[Node]:
    users = readers.get(id(value), [])
    return users[0] if len(users) == 1 and users[0].op == op else None


def _hard_swish_at(graph: Graph, readers: dict, outputs: set, add: Node) -> Optional[tuple[Value, list[Node]]]:
    """(x, the four nodes) when `add` starts the spelled-out HardSwish of x."""
    if add.op != "Add" or len(add.inputs) != 2:
        return None
    for x, three in (add.inputs, add.inputs[::-1]):
        if _scalar(graph, three) != 3.0 or graph.is_constant(x):
            continue
        clip = _only_reader(readers, add.outputs[0], "Clip")
        if clip is None or clip.attrs.get("min") != 0 or clip.attrs.get("max") != 6 or id(add.outputs[0]) in outputs:
            continue
        mul = _only_reader(readers, clip.outputs[0], "Mul")
        if mul is None or _other(mul, clip.outputs[0]) is not x or id(clip.outputs[0]) in outputs:
            continue
        scale = readers.get(id(mul.outputs[0]), [])
        if len(scale) != 1 or id(mul.outputs[0]) in outputs or scale[0].inputs[0] is not mul.outputs[0]:
            continue
        factor = _scalar(graph, scale[0].inputs[1])
        if (scale[0].op, factor) == ("Div", 6.0) or (scale[0].op == "Mul" and factor is not None
                                                     and np.float32(factor) == np.float32(1 / 6)):
            if x.type == scale[0].outputs[0].type:
                return x, [add, clip, mul, scale[0]]
    return None


def recognize_hard_swish(graph: Graph) -> Graph:
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    replaced: dict[int, Node] = {}  # id(last node of a pattern) -> its HardSwish
    removed: set[int] = set()
    for node in graph.nodes:
        if id(node) in removed:
            continue
        found = _hard_swish_at(graph, readers, outputs, node)
        if found is None:
            continue
        x, steps = found
        removed.update(id(step) for step in steps)
        replaced[id(steps[-1])] = Node("HardSwish", (x,), steps[-1].outputs, {}, name=steps[-1].name)
    if not replaced:
        return graph
    nodes = [replaced.get(id(n), n) for n in graph.nodes if id(n) not in removed or id(n) in replaced]
    return graph.with_nodes(nodes, graph.constants, graph.constant_values)
