"""An inference BatchNormalization that fold_batch_norm could not fold (one after a pool, a
Concat, an input) with constant parameters becomes x * s + t with per-channel constants of
shape [1, C, 1, ...]: s = scale / sqrt(var + eps), t = bias - mean * s. As a Mul and an Add it
fuses with its neighbours (fuse_epilogue, fuse_elementwise) and stays in the blocked layout,
where a BatchNormalization node sent the feature map back to NCHW (a captcha CRNN's
conv, pool, BN stages)."""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value


def batch_norm_as_affine(graph: Graph) -> Graph:
    constants, constant_values = dict(graph.constants), dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())

    def add_constant(array: np.ndarray, hint: str) -> Value:
        value = Value(names(hint), TensorType(array.shape, array.dtype))
        constants[value.name], constant_values[value.name] = array, value
        return value

    nodes, changed = [], False
    for node in graph.nodes:
        x = node.inputs[0] if node.inputs else None
        params = [graph.constants.get(v.name) if v is not None else None for v in node.inputs[1:]]
        if (node.op != "BatchNormalization" or x is None or x.type.dtype != "float32" or x.type.rank < 3
                or len(params) != 4 or any(p is None for p in params)):
            nodes.append(node)
            continue
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        factor = gamma / np.sqrt(var + node.attrs["epsilon"])
        shape = (1, -1) + (1,) * (x.type.rank - 2)
        scale = add_constant((factor).astype(np.float32).reshape(shape), f"{node.name}_scale")
        shift = add_constant((beta - mean * factor).astype(np.float32).reshape(shape), f"{node.name}_shift")
        scaled = Value(names(f"{node.outputs[0].name}_scaled"), x.type)
        nodes.append(Node("Mul", (x, scale), (scaled,), {}, name=f"{node.name} scale"))
        nodes.append(Node("Add", (scaled, shift), node.outputs, {}, name=node.name))
        changed = True
    return graph.with_nodes(nodes, constants, constant_values) if changed else graph
