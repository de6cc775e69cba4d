"""Fuse the elementwise chain after an anchor (a Conv, MatMul or Gemm) into the anchor's
write-back: activation, residual or bias add, activation... so the result is stored once
instead of read and written per op.

The chain grows while the current result has exactly one reader, is not a graph output, and
that reader is a fusable unary op or an Add of a tensor of the same type (a MatMul or Gemm
also takes an Add of one that broadcasts to its result: a bias after a MatMul). The fused
anchor takes the place of the chain's last node (every extra operand is defined by then) and
produces its output value, so readers are untouched. Recurrences need no such pass: their
cells apply their own activations inside the time loop.
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node
from convrnn.schedules.epilogue import FUSABLE_BINARY, FUSABLE_UNARY, broadcasts_to

# anchor op -> its own inputs (optional ones padded with None), after which the extras follow
ANCHORS = {"Conv": 3, "MatMul": 2, "Gemm": 3}
BROADCASTING_ANCHORS = ("MatMul", "Gemm")


def fuse_epilogue(graph: Graph) -> Graph:
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
            elif reader.op in FUSABLE_BINARY and _other_operand(reader, result, node.op) is not None:
                extras.append(_other_operand(reader, result, node.op))
                steps.append({"op": reader.op, "input": len(extras) - 1})
            else:
                break
            fused_away.add(id(reader))
            result, last = reader.outputs[0], reader
        if last is None:
            continue
        own = ANCHORS[node.op]
        inputs = (list(node.inputs) + [None] * own)[:own] + extras
        fused_away.add(id(node))
        placed[id(last)] = Node(node.op, tuple(inputs), last.outputs, dict(node.attrs, epilogue=steps), name=node.name)
    if not placed:
        return graph
    nodes = [placed.get(id(n), n) for n in graph.nodes if id(n) not in fused_away or id(n) in placed]
    return graph.replace(nodes=nodes)


def _other_operand(add: Node, result, anchor: str):
    """The operand of `add` other than `result`, when it has result's exact type (or, after a
    dense anchor, broadcasts to it)."""
    a, b = add.inputs
    other = b if a is result else a
    if other is result or other is None or add.outputs[0].type != result.type:
        return None
    if other.type == result.type or anchor in BROADCASTING_ANCHORS and broadcasts_to(other.type, result.type):
        return other
    return None
