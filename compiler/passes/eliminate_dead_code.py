"""Remove nodes and constants no graph output depends on. A node binding run-time dims
(compiler/bound_dims.py) stays while a kept value's shape holds one of them."""
from __future__ import annotations

from convrnn.compiler.bound_dims import bound_dims, dims_of, holds_binds
from convrnn.compiler.ir import Graph


def eliminate_dead_code(graph: Graph) -> Graph:
    live = {id(v) for v in graph.outputs}
    track_dims = holds_binds(graph)  # reading every shape's names costs a parse each: only when needed
    live_dims = dims_of(graph.outputs) if track_dims else set()
    kept = []
    for node in reversed(graph.nodes):
        if any(id(v) in live for v in node.outputs) or set(bound_dims(node)) & live_dims:
            kept.append(node)
            live.update(id(v) for v in node.inputs if v is not None)
            if track_dims:
                live_dims |= dims_of(node.inputs) | dims_of(node.outputs)
    constant_values = {n: v for n, v in graph.constant_values.items() if id(v) in live}
    constants = {n: graph.constants[n] for n in constant_values}
    return graph.replace(nodes=kept[::-1], constants=constants, constant_values=constant_values)
