"""Reshape: a view of the input's memory with another shape (no kernel runs).

Flatten, Reshape, Squeeze and Unsqueeze all become this op with a fully resolved target
shape. The helpers below resolve ONNX's 0 / -1 entries over symbolic dims, where the
element count is a product of an integer and symbol names.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from convrnn.compiler.ir import Dim, TensorType
from convrnn.schedules.registry import OpDef, register


def _product(dims: Sequence[Dim]) -> tuple[int, Counter]:
    """The element count of dims as (integer factor, multiset of symbols)."""
    factor, symbols = 1, Counter()
    for d in dims:
        if isinstance(d, str):
            symbols[d] += 1
        else:
            factor *= d
    return factor, symbols


def product_dim(dims: Sequence[Dim]) -> Dim:
    """The product of dims as one dim; ValueError when it is not an int or a lone symbol."""
    factor, symbols = _product(dims)
    if not symbols:
        return factor
    if factor == 1 and sum(symbols.values()) == 1:
        return next(iter(symbols))
    raise ValueError(f"the product of {list(dims)} is not expressible as one dim")


def _quotient(numerator: Sequence[Dim], denominator: Sequence[Dim]) -> Dim:
    num_factor, num_symbols = _product(numerator)
    den_factor, den_symbols = _product(denominator)
    left = num_symbols - den_symbols
    if den_factor == 0 or num_factor % den_factor or den_symbols - num_symbols:
        raise ValueError(f"cannot infer -1: {list(numerator)} elements do not split by {list(denominator)}")
    factor = num_factor // den_factor
    return product_dim([factor] + list(left.elements()))


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
        if _product(shape) != _product(x.shape):
            raise ValueError(f"cannot reshape {list(x.shape)} to {list(shape)}")
        return [TensorType(shape, x.dtype)]
