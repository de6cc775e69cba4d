"""Concat along one axis (attr "axis", non-negative)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Concat(OpDef):
    name = "Concat"

    def infer(self, inputs, attrs):
        axis = attrs["axis"]
        first = inputs[0]
        total = 0
        for x in inputs:
            if x.dtype != first.dtype or x.rank != first.rank:
                raise ValueError(f"cannot concatenate {x} with {first}")
            if any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != axis):
                raise ValueError(f"shapes {first.shape} and {x.shape} differ off axis {axis}")
            if isinstance(x.shape[axis], str):
                raise ValueError(f"cannot concatenate along symbolic dim {x.shape[axis]!r}")
            total += x.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return [TensorType(tuple(shape), first.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import topi

        return [topi.concatenate(list(inputs), attrs["axis"])]
