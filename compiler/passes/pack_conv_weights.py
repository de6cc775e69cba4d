"""Pack each Conv's constant weight once, here, into the layout the CPU template reads:
[O, C/g, *K] -> [O/b, C/g, *K, b] with b output channels per vector block (schedules/
conv_layout.py; attr weight_block b). The frontend and every pass before this one see the
weight in ONNX's layout; a weight computed at run time, or with output channels that no
block of at least conv_layout.MIN_BLOCK divides, stays as it is.
"""
from __future__ import annotations

from dataclasses import replace

from convrnn.compiler.ir import Graph, NewValues, Value
from convrnn.schedules.conv_layout import pack_weight, weight_block


def pack_conv_weights(graph: Graph) -> Graph:
    new = NewValues(graph)
    packed: dict[tuple[str, int], Value] = {}  # a weight read by several convs is packed once
    nodes, changed = [], False
    for node in graph.nodes:
        w = node.inputs[1] if node.op == "Conv" and len(node.inputs) > 1 else None
        block = weight_block(w.type.shape[0] // max(node.attrs["group"], 1)) if w is not None else 0
        if not block or node.attrs.get("weight_block", 0) or not graph.is_constant(w):
            nodes.append(node)
            continue
        key = (w.name, block)
        if key not in packed:
            packed[key] = new.constant(pack_weight(graph.constants[w.name], block), f"{w.name}_packed")
        inputs = (node.inputs[0], packed[key], *node.inputs[2:])
        nodes.append(replace(node, inputs=inputs, attrs={**node.attrs, "weight_block": block}))
        changed = True
    return new.graph_with(graph, nodes) if changed else graph
