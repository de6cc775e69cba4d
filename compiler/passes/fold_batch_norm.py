"""Fold an inference BatchNormalization into the Conv that feeds it.

BN(conv(x, W) + B) = conv(x, W * s) + (B - mean) * s + bias, with s = scale / sqrt(var + eps)
per output channel. Applies when the Conv's weight, bias and the BN parameters are constants
and the BN is the Conv's only reader; the BN's output value is kept, so readers are untouched.
"""
from __future__ import annotations

import numpy as np

from convrnn.compiler.ir import Graph, NameGenerator, Node, TensorType, Value


def _channel_scale(weight: np.ndarray, scale: np.ndarray, block: int) -> np.ndarray:
    """Multiply a conv weight by a per-output-channel factor (plain or blocked layout)."""
    if block:  # [O/b, C/g, *K, b]: channel = axis 0 * b + last axis
        factor = scale.reshape(weight.shape[0], *([1] * (weight.ndim - 2)), block)
    else:  # [O, C/g, *K]
        factor = scale.reshape(-1, *([1] * (weight.ndim - 1)))
    return (weight * factor).astype(weight.dtype)


def fold_batch_norm(graph: Graph) -> Graph:
    producer = {id(v): node for node in graph.nodes for v in node.outputs}
    readers = graph.consumers()
    outputs = {id(v) for v in graph.outputs}
    constants = dict(graph.constants)
    constant_values = dict(graph.constant_values)
    names = NameGenerator(v.name for v in graph.values())

    def const(value):
        return None if value is None else constants.get(value.name)

    def add_constant(array: np.ndarray, hint: str) -> Value:
        value = Value(names(hint), TensorType(array.shape, array.dtype))
        constants[value.name], constant_values[value.name] = array, value
        return value

    replaced: dict[int, Node] = {}  # id(conv node) -> folded conv
    removed: set[int] = set()       # id(bn node)
    for node in graph.nodes:
        if node.op != "BatchNormalization":
            continue
        conv = producer.get(id(node.inputs[0]))
        if conv is None or conv.op != "Conv" or id(conv) in replaced:
            continue
        conv_out = conv.outputs[0]
        if len(readers.get(id(conv_out), [])) != 1 or id(conv_out) in outputs:
            continue
        weight, bias = const(conv.inputs[1]), const(conv.inputs[2] if len(conv.inputs) > 2 else None)
        params = [const(v) for v in node.inputs[1:]]
        if weight is None or (len(conv.inputs) > 2 and conv.inputs[2] is not None and bias is None) \
                or any(p is None for p in params):
            continue
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        scale = gamma / np.sqrt(var + node.attrs["epsilon"])
        base = np.zeros_like(mean) if bias is None else bias.astype(np.float64)
        new_weight = _channel_scale(weight.astype(np.float64), scale, conv.attrs.get("weight_block", 0))
        new_bias = (base - mean) * scale + beta
        inputs = (conv.inputs[0], add_constant(new_weight.astype(weight.dtype), f"{conv.name}_w_bn"),
                  add_constant(new_bias.astype(weight.dtype), f"{conv.name}_b_bn"))
        replaced[id(conv)] = Node("Conv", inputs, node.outputs, dict(conv.attrs), name=conv.name)
        removed.add(id(node))

    if not replaced:
        return graph
    nodes = [replaced.get(id(n), n) for n in graph.nodes if id(n) not in removed]
    return graph.with_nodes(nodes, constants, constant_values)
