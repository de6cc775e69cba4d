"""Shape arithmetic over symbolic dims, done at import time.

Exporters compute reshape targets and initial states from `Shape(x)`; when x has a symbolic
dim (a dynamic batch) those vectors are not constants, but their elements are still known:
[batch, 512]. This module tracks such vectors through Shape, Size, Gather, Unsqueeze, Squeeze,
Concat, Slice, Cast, Identity, integer Add/Sub/Mul/Div/Max/Min, Equal, Where and ReduceProd (their elements are dim
formulas, compiler/symbolic_dims.py), so converters can read them with `shape_vector()`.
A tracked vector with only integer elements becomes an ordinary constant.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import onnx

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Dim, TensorType, Value
from convrnn.frontend.context import GraphBuilder

_INTEGER_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}


def _divide(a: Dim, b: Dim) -> Optional[Dim]:
    """ONNX's integer Div (truncation; dims are positive, so floor) where it is a dim formula."""
    if isinstance(a, int) and isinstance(b, int):
        return int(a / b) if b else None
    if isinstance(b, int) and b > 0:
        return symbolic_dims.floordiv(a, b)
    return symbolic_dims.exact_quotient(a, b)


def _decide_equal(a: Dim, b: Dim) -> Optional[bool]:
    """Whether two shape elements are equal, where that is known: a dim is never below 1, so a
    symbolic dim differs from 0 and -1 (the placeholders exporters compare shapes with)."""
    if a == b:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return False
    constant = a if isinstance(a, int) else b if isinstance(b, int) else None
    return False if constant is not None and constant < 1 else None


# Integer arithmetic on shape elements (exporters compute Reshape targets with it).
_ARITHMETIC = {"Add": symbolic_dims.add, "Sub": symbolic_dims.sub, "Mul": symbolic_dims.mul, "Div": _divide,
               "Max": symbolic_dims.maximum, "Min": symbolic_dims.minimum}


def _attr(node: onnx.NodeProto, name: str, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _known(builder: GraphBuilder, value: Optional[Value]) -> Optional[list[Dim]]:
    if value is None:
        return None
    if id(value) in builder.shape_vectors:
        return builder.shape_vectors[id(value)]
    array = builder.constant_of(value)
    if array is not None and array.dtype.kind in "iu" and array.ndim <= 1:
        return [int(v) for v in array.reshape(-1)]
    return None


def _result(builder: GraphBuilder, elements: list[Dim], scalar: bool, hint: str) -> Value:
    if all(isinstance(e, int) for e in elements):
        array = np.array(elements, dtype=np.int64)
        return builder.constant(array.reshape(()) if scalar else array, hint=hint)
    value = Value(builder.names(hint), TensorType(() if scalar else (len(elements),), "int64"))
    builder.shape_vectors[id(value)] = list(elements)
    return value


def track_shape_node(builder: GraphBuilder, node: onnx.NodeProto,
                     inputs: list[Optional[Value]]) -> Optional[list[Value]]:
    """The node's outputs when it is shape arithmetic this module can follow, else None."""
    op = node.op_type
    out = node.output[0] if node.output else op
    if op == "Shape":
        shape = list(inputs[0].type.shape)
        start, end = _attr(node, "start", 0), _attr(node, "end", None)
        return [_result(builder, shape[start:end], False, out)]
    if op == "Size":
        return [_result(builder, [symbolic_dims.product(inputs[0].type.shape)], True, out)]
    known = [_known(builder, v) for v in inputs]
    if not any(v is not None and id(v) in builder.shape_vectors for v in inputs):
        return None  # nothing symbolic here: ordinary folding or conversion applies
    if op in ("Identity", "Cast") and (op == "Identity" or _attr(node, "to") in _INTEGER_TYPES):
        return [_result(builder, known[0], inputs[0].type.rank == 0, out)]
    if op == "Gather" and known[1] is not None and _attr(node, "axis", 0) == 0:
        indices = builder.constant_of(inputs[1])
        if indices is None or indices.ndim > 1:
            return None
        picked = [known[0][int(i)] for i in indices.reshape(-1)]
        return [_result(builder, picked, indices.ndim == 0, out)]
    if op == "Unsqueeze" and inputs[0].type.rank == 0:
        return [_result(builder, known[0], False, out)]
    if op == "Squeeze" and inputs[0].type.rank == 1 and len(known[0]) == 1:
        return [_result(builder, known[0], True, out)]
    if op in _ARITHMETIC and all(k is not None for k in known) and len(known) == 2:
        left, right = known
        if len(left) != len(right) and 1 not in (len(left), len(right)):
            return None
        length = max(len(left), len(right))
        left, right = (left * length if len(left) == 1 else left), (right * length if len(right) == 1 else right)
        elements = [_ARITHMETIC[op](a, b) for a, b in zip(left, right)]
        if any(e is None for e in elements):
            return None
        scalar = inputs[0].type.rank == 0 and inputs[1].type.rank == 0
        return [_result(builder, elements, scalar, out)]
    if op == "Equal" and all(k is not None for k in known) and len(known) == 2:
        left, right = known
        length = max(len(left), len(right))
        left, right = (left * length if len(left) == 1 else left), (right * length if len(right) == 1 else right)
        decided = [_decide_equal(a, b) for a, b in zip(left, right)]
        if len(left) != len(right) or None in decided:
            return None
        scalar = inputs[0].type.rank == 0 and inputs[1].type.rank == 0
        array = np.array(decided, dtype=bool)
        return [builder.constant(array.reshape(()) if scalar else array, hint=out)]
    if op == "Where" and known[1] is not None and known[2] is not None:
        condition = builder.constant_of(inputs[0])
        if condition is None or condition.ndim > 1:
            return None
        length = max(condition.size, len(known[1]), len(known[2]))
        pick = [bool(c) for c in np.broadcast_to(condition.reshape(-1), (length,))]
        first, second = (known[1] * length if len(known[1]) == 1 else known[1]), \
            (known[2] * length if len(known[2]) == 1 else known[2])
        if len(first) != length or len(second) != length:
            return None
        return [_result(builder, [a if c else b for c, a, b in zip(pick, first, second)], False, out)]
    if op == "ReduceProd" and known[0] is not None and not _attr(node, "keepdims", 1) and len(inputs) == 1:
        return [_result(builder, [symbolic_dims.product(known[0])], True, out)]
    if op == "Concat" and all(k is not None for k in known):
        return [_result(builder, [e for k in known for e in k], False, out)]
    if op == "Slice" and all(k is not None for k in known[1:]):
        starts, ends = known[1], known[2]
        steps = known[4] if len(known) > 4 and known[4] is not None else [1]
        if len(starts) != 1 or any(isinstance(e, str) for e in starts + ends + steps):
            return None
        return [_result(builder, known[0][slice(starts[0], ends[0], steps[0])], False, out)]
    return None
