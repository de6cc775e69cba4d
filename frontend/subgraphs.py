"""Importing a subgraph that stays a subgraph (a Loop's body, a run-time If's branches).

Such a body becomes a closed Graph of its own: what it reads from enclosing scopes enters it
as a constant (the same data), a shape vector (the same elements), or a capture: a body input
whose value the node takes as an extra input. Nested bodies capture through every level.
Every body shares the model's name generator, so value names stay unique across all graphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Graph, TensorType, Value
from convrnn.frontend.context import GraphBuilder


@dataclass
class Body:
    graph: Graph           # inputs: the fresh inputs asked for, then one per capture
    captures: list[Value]  # the enclosing scope's values the capture inputs stand for


@dataclass
class BodyScope:
    """One body being imported: its builder and what it has brought in from outside."""
    builder: GraphBuilder
    depth: int  # the importer's scopes from this index on are the body's own
    captures: list[tuple[Value, Value]] = field(default_factory=list)  # (outer value, body input)
    brought: dict[int, Value] = field(default_factory=dict)  # id(outer value) -> its body value

    @classmethod
    def inside(cls, outer: GraphBuilder, depth: int) -> "BodyScope":
        builder = GraphBuilder()
        builder.names = outer.names
        return cls(builder, depth)

    def bring_in(self, value: Optional[Value], outer: GraphBuilder) -> Optional[Value]:
        """The body's value for `value` of the enclosing builder `outer`."""
        if value is None:
            return None
        known = self.brought.get(id(value))
        if known is not None:
            return known
        array = outer.constant_of(value)
        if array is not None:
            inner = self.builder.constant(array, hint=value.name)
        else:
            inner = Value(self.builder.names(value.name), value.type)
            if id(value) in outer.shape_vectors:
                self.builder.shape_vectors[id(inner)] = list(outer.shape_vectors[id(value)])
            else:
                self.captures.append((value, inner))
                self.builder.inputs.append(inner)
        self.brought[id(value)] = inner
        return inner

    def body(self, fresh: list[Value], outputs: list[Value]) -> Body:
        graph = self.builder.graph(fresh + [inner for _, inner in self.captures], outputs)
        return Body(graph, [outer for outer, _ in self.captures])


def fresh_input(scope: BodyScope, name: str, value_type: TensorType) -> Value:
    value = Value(scope.builder.names(name), value_type)
    scope.builder.inputs.append(value)
    return value


def refine_subgraphs(graph: Graph, refined: dict) -> None:
    """Apply the dims an import fixed after a body was built (a later weight fixing the
    batch) to the values of every body, so that bodies and their graph agree."""
    if not refined:
        return
    for node in graph.nodes:
        for body in subgraphs(node):
            for value in body.values():
                shape = [symbolic_dims.substitute(d, refined) if isinstance(d, str) else d for d in value.type.shape]
                value.type = TensorType(shape, value.type.dtype)
            refine_subgraphs(body, refined)


def subgraphs(node) -> list[Graph]:
    return [value for value in node.attrs.values() if isinstance(value, Graph)]
