"""Move the nodes of a Loop body that compute the same thing every iteration out of the loop.

A body node is invariant when everything it reads is: the body's captures (outer values it
reads), its constants, and the outputs of invariant nodes. Such nodes run once before the
Loop, in the enclosing graph, and the values the rest of the body reads from them become new
captures. An attention decoder's projection of the encoder's features (PaddleOCR's SLANet:
a [positions x 96] x [96 x 256] MatMul per step) and a weight's Transpose are computed
once instead of once per step. Nodes holding subgraphs and nodes binding run-time dims
(compiler/bound_dims.py) stay in the body.
"""
from __future__ import annotations

from typing import Iterator

from convrnn.compiler.bound_dims import binds
from convrnn.compiler.ir import Graph, NameGenerator, Node, Value


def _subgraphs(node: Node) -> list[Graph]:
    return [value for value in node.attrs.values() if isinstance(value, Graph)]


def _names(graph: Graph) -> Iterator[str]:
    """Every value name in the graph and the graphs inside it."""
    for value in graph.values():
        yield value.name
    for node in graph.nodes:
        for inner in _subgraphs(node):
            yield from _names(inner)


def _invariant_nodes(body: Graph, first_capture: int) -> list[Node]:
    invariant = {id(v) for v in body.inputs[first_capture:]} | {id(v) for v in body.constant_values.values()}
    found = []
    for node in body.nodes:
        if _subgraphs(node) or binds(node):
            continue
        if all(v is None or id(v) in invariant for v in node.inputs):
            found.append(node)
            invariant.update(id(v) for v in node.outputs)
    return found


def hoist_loop_invariants(graph: Graph) -> Graph:
    invariant = {id(node): _invariant_nodes(node.attrs["body"], 2 + node.attrs["carried"])
                 for node in graph.nodes if node.op == "Loop"}
    if not any(invariant.values()):
        return graph
    names = NameGenerator(_names(graph))
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    nodes: list[Node] = []
    for node in graph.nodes:
        hoisted = invariant.get(id(node), [])
        if not hoisted:
            nodes.append(node)
            continue
        body, first_capture = node.attrs["body"], 2 + node.attrs["carried"]
        outer_of = {id(inner): outer for inner, outer in zip(body.inputs[first_capture:], node.inputs[first_capture:])}

        def outer(value: Value) -> Value:
            if id(value) not in outer_of:  # a constant of the body: the enclosing graph's too
                copy = Value(names(value.name), value.type)
                constants[copy.name], constant_values[copy.name] = body.constants[value.name], copy
                outer_of[id(value)] = copy
            return outer_of[id(value)]

        for inner_node in hoisted:
            outputs = tuple(Value(names(f"{v.name}_hoisted"), v.type) for v in inner_node.outputs)
            nodes.append(Node(inner_node.op, tuple(None if v is None else outer(v) for v in inner_node.inputs),
                              outputs, dict(inner_node.attrs), name=inner_node.name))
            outer_of.update((id(v), o) for v, o in zip(inner_node.outputs, outputs))
        moved = {id(n) for n in hoisted}
        kept = [n for n in body.nodes if id(n) not in moved]
        read = {id(v) for n in kept for v in n.inputs if v is not None} | {id(v) for v in body.outputs}
        captures = [v for v in body.inputs[first_capture:] if id(v) in read]
        captures += [v for n in hoisted for v in n.outputs if id(v) in read]
        used_constants = {name: v for name, v in body.constant_values.items() if id(v) in read}
        new_body = body.replace(inputs=body.inputs[:first_capture] + captures, nodes=kept,
                                constants={name: body.constants[name] for name in used_constants},
                                constant_values=used_constants)
        inputs = tuple(node.inputs[:first_capture]) + tuple(outer_of[id(v)] for v in captures)
        nodes.append(Node("Loop", inputs, node.outputs, dict(node.attrs, body=new_body), name=node.name))
    return graph.replace(nodes=nodes, constants=constants, constant_values=constant_values)
