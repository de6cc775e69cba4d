"""Checks the structural invariants of a Graph; runs after every pass in tests."""
from __future__ import annotations

from convrnn.compiler.ir import Graph, TensorType
from convrnn.compiler.symbolic_dims import apply_known, assuming
from convrnn.schedules.registry import get_op


class VerificationError(AssertionError):
    pass


def verify(graph: Graph) -> None:
    """Topological order, every value defined once, names unique, types as the ops infer."""
    defined: set[int] = set()
    names: set[str] = set()

    def define(value, where: str) -> None:
        if id(value) in defined:
            raise VerificationError(f"{value.name} defined twice ({where})")
        if value.name in names:
            raise VerificationError(f"two values named {value.name} ({where})")
        defined.add(id(value))
        names.add(value.name)

    for value in graph.inputs:
        define(value, "graph input")
    for name, value in graph.constant_values.items():
        if name != value.name or name not in graph.constants:
            raise VerificationError(f"constant {name} has no data or a mismatched name")
        array = graph.constants[name]
        if tuple(array.shape) != value.type.shape or str(array.dtype) != value.type.dtype:
            raise VerificationError(f"constant {name} data {array.dtype}{list(array.shape)} != {value.type}")
        define(value, "constant")
    for node in graph.nodes:
        for value in node.inputs:
            if value is not None and id(value) not in defined:
                raise VerificationError(f"node {node.name} ({node.op}) reads {value.name} before it is defined")
        with assuming(graph.dim_checks):
            inferred = get_op(node.op).infer([v.type if v is not None else None for v in node.inputs], node.attrs)
            inferred = [TensorType([apply_known(d) for d in t.shape], t.dtype) for t in inferred]
        if [v.type for v in node.outputs] != list(inferred[: len(node.outputs)]):
            raise VerificationError(f"node {node.name} ({node.op}) outputs {[str(v.type) for v in node.outputs]}, "
                                    f"its op infers {[str(t) for t in inferred]}")
        for value in node.outputs:
            define(value, f"output of {node.name}")
    for value in graph.outputs:
        if id(value) not in defined:
            raise VerificationError(f"graph output {value.name} is never defined")
