"""A MatMulInteger of uint8 A by a constant 2-d B becomes MatMulIntegerPacked: B - its zero
point packed once, here, for the dot-product kernel (schedules/cpu/integer_matmul_packed.py), and
A's leading axes one axis of rows (Reshapes around it are views).

A MatMulInteger as wide as bilstm.int8's and voicefilter_lite.int8's projections, [100, 768]
by [768, 512], ran at 15% of the float32 FMA peak as a widened int32 GEMM (vpmulld). It keeps
that form when A is int8, B is not constant or batched, a_zero_point is not one value, B -
b_zero_point does not fit int8, or K and N are not whole groups of 4 and 16.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value
from convrnn.schedules.cpu.integer_matmul_packed import pack_integer_matrix, packable


def _candidate(node: Node, graph: Graph) -> bool:
    if node.op != "MatMulInteger":
        return False
    a, b, a_zero, b_zero = (list(node.inputs) + [None, None])[:4]
    if a.type.dtype != "uint8" or not graph.is_constant(b) or b.type.rank != 2 or a.type.rank < 1:
        return False
    if b_zero is not None and not graph.is_constant(b_zero):
        return False
    if a_zero is not None and any(d != 1 for d in a_zero.type.shape):
        return False
    return a.type.shape[-1] == b.type.shape[0] and packable(*b.type.shape)


def pack_integer_matmul(graph: Graph) -> Graph:
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())
    nodes, changed = [], False
    for node in graph.nodes:
        packed = None
        if _candidate(node, graph):
            b_zero = node.inputs[3] if len(node.inputs) > 3 else None
            packed = pack_integer_matrix(constants[node.inputs[1].name],
                                         None if b_zero is None else constants[b_zero.name])
        if packed is None:
            nodes.append(node)
            continue
        a, b, a_zero = (list(node.inputs) + [None])[:3]
        out = node.outputs[0]

        def view(value: Value, shape: tuple, label: str) -> Value:
            if tuple(value.type.shape) == tuple(shape):
                return value
            viewed = Value(names(f"{value.name}_{label}"), TensorType(shape, value.type.dtype))
            nodes.append(Node("Reshape", (value,), (viewed,), {"shape": list(shape)}, name=f"{node.name} {label}"))
            return viewed

        def constant(array, label: str) -> Value:
            value = Value(names(f"{b.name}_{label}"), TensorType(array.shape, str(array.dtype)))
            constants[value.name], constant_values[value.name] = array, value
            return value

        rows = symbolic_dims.product(a.type.shape[:-1])
        k, n = b.type.shape
        a_zero = constant(np.zeros((), np.uint8), "a_zero") if a_zero is None else view(a_zero, (), "scalar")
        inputs = [view(a, (rows, k), "rows"), constant(packed[0], "packed"), constant(packed[1], "column_sums"), a_zero]
        as_rows = tuple(out.type.shape) == (rows, n)
        product = out if as_rows else Value(names(f"{out.name}_rows"), TensorType((rows, n), "int32"))
        nodes.append(Node("MatMulIntegerPacked", tuple(inputs), (product,), {}, name=node.name))
        if not as_rows:
            nodes.append(Node("Reshape", (product,), (out,), {"shape": list(out.type.shape)},
                              name=f"{node.name} back to its shape"))
        changed = True
    if not changed:
        return graph
    return graph.with_nodes(nodes, constants, constant_values)
