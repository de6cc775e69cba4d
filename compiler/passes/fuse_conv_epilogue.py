"""Fuse the elementwise chain after a Conv (activation, residual add, activation) into the
Conv's write-back, so the activation is stored once instead of read and written per op.

The chain grows while the current result has exactly one reader, is not a graph output, and
that reader is a fusable unary op or an Add of a tensor of the same type. The fused Conv
takes the place of the chain's last node (every extra operand is defined by then) and
produces its output value, so readers are untouched.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node
from convrnn.schedules.epilogue import FUSABLE_BINARY, FUSABLE_UNARY

ANCHORS = ("Conv",)


def fuse_conv_epilogue(graph: Graph) -> Graph:
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    fused_away: set[int] = set()        # ids of nodes absorbed into an anchor
    placed: dict[int, Node] = {}        # id(last node of a chain) -> the fused anchor
    for node in graph.nodes:
        if node.op not in ANCHORS or id(node) in fused_away or node.attrs.get("epilogue"):
            continue
        result, steps, extras, last = node.outputs[0], [], [], None
        while id(result) not in outputs and len(readers.get(id(result), [])) == 1:
            reader = readers[id(result)][0]
            if id(reader) in fused_away:
                break  # an earlier anchor took it (a residual Add joins two convs)
            if reader.op in FUSABLE_UNARY and reader.outputs[0].type == result.type:
                steps.append({"op": reader.op, "attrs": dict(reader.attrs)} if reader.attrs else {"op": reader.op})
            elif reader.op in FUSABLE_BINARY and _other_operand(reader, result) is not None:
                extras.append(_other_operand(reader, result))
                steps.append({"op": reader.op, "input": len(extras) - 1})
            else:
                break
            fused_away.add(id(reader))
            result, last = reader.outputs[0], reader
        if last is None:
            continue
        inputs = (list(node.inputs) + [None] * 3)[:3] + extras
        fused_away.add(id(node))
        placed[id(last)] = Node(node.op, tuple(inputs), last.outputs, dict(node.attrs, epilogue=steps), name=node.name)
    if not placed:
        return graph
    nodes = [placed.get(id(n), n) for n in graph.nodes if id(n) not in fused_away or id(n) in placed]
    return graph.replace(nodes=nodes)


def _other_operand(add: Node, result):
    """The operand of `add` other than `result`, when it has result's exact type."""
    a, b = add.inputs
    other = b if a is result else a
    if other is result or other is None or other.type != result.type or add.outputs[0].type != result.type:
        return None
    return other
