"""Reshape: a view of the input's memory with another shape (no kernel runs).

Flatten, Reshape, Squeeze and Unsqueeze all become this op with a fully resolved target
shape. The helpers below resolve ONNX's 0 / -1 entries over symbolic dims, where the
element count is a formula over symbolic dims (compiler/symbolic_dims.py).
"""
from __future__ import annotations

from typing import Sequence

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import Dim, TensorType
from convrnn.schedules.registry import OpDef, register


def product_dim(dims: Sequence[Dim]) -> Dim:
    """The product of dims as one dim (a formula over symbolic dims)."""
    return symbolic_dims.product(dims)


def _quotient(numerator: Sequence[Dim], denominator: Sequence[Dim]) -> Dim:
    numerator, denominator = list(numerator), list(denominator)
    for dim in list(denominator):  # equal dims cancel, whatever their formulas
        if isinstance(dim, str) and dim in numerator:
            numerator.remove(dim)
            denominator.remove(dim)
    quotient = symbolic_dims.exact_quotient(product_dim(numerator), product_dim(denominator))
    if quotient is None:
        raise ValueError(f"cannot infer -1: {list(numerator)} elements do not split by {list(denominator)}")
    return quotient


def resolve_reshape(shape: Sequence[Dim], target: Sequence[Dim], allowzero: bool = False) -> tuple[Dim, ...]:
    """ONNX Reshape's target (0 copies the input dim unless allowzero, one -1 is inferred)."""
    resolved = list(target)
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(shape):
                raise ValueError(f"0 at position {i} of target {list(target)} has no input dim to copy")
            resolved[i] = shape[i]
    holes = [i for i, d in enumerate(resolved) if d == -1]
    if len(holes) > 1:
        raise ValueError(f"target {list(target)} has more than one -1")
    if any(isinstance(d, int) and d < -1 for d in resolved):
        raise ValueError(f"invalid target shape {list(target)}")
    if holes:
        rest = [d for i, d in enumerate(resolved) if i != holes[0]]
        resolved[holes[0]] = _quotient(shape, rest)
    return tuple(resolved)


@register
class Reshape(OpDef):
    name = "Reshape"
    is_view = True

    def infer(self, inputs, attrs):
        x = inputs[0]
        shape = tuple(attrs["shape"])
        symbolic_dims.equate(product_dim(shape), product_dim(x.shape),
                             f"cannot reshape {list(x.shape)} to {list(shape)}: element counts")
        return [TensorType(shape, x.dtype)]
