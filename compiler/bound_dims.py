"""Dims bound at run time from values the model computes (a Slice whose bounds are tensors, a
Range over run-time scalars): known only once a kernel has run, like a Loop's trip count.

A node with attr "binds" computes them: its last output is an int64 vector whose element j is
the size of dim binds[j]. An element of binds that import refined to an int is a size the model
requires (the runtime checks it). Graphs holding such nodes run as programs: the runtime reads
the vector once the node has run and sizes the tensors after it from it (runtime/program.py).
"""
from __future__ import annotations

from convrnn.compiler.ir import Graph, Node
from convrnn.compiler.symbolic_dims import names_in


def bound_dims(node: Node) -> list[str]:
    """The dim names the node binds (none for most nodes)."""
    return [d for d in node.attrs.get("binds", ()) if isinstance(d, str)]


def binds(node: Node) -> bool:
    return "binds" in node.attrs


def holds_binds(graph: Graph) -> bool:
    return any(binds(node) for node in graph.nodes)


def dims_of(values) -> set[str]:
    """The names in the values' shapes."""
    return {name for v in values if v is not None for d in v.type.shape if isinstance(d, str)
            for name in names_in(d)}
