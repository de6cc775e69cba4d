"""Concat along one axis (attr "axis", non-negative)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.compiler.symbolic_dims import equate, total
from convrnn.schedules.registry import OpDef, register


@register
class Concat(OpDef):
    name = "Concat"

    def infer(self, inputs, attrs):
        axis = attrs["axis"]
        first = inputs[0]
        shape = list(first.shape)
        for x in inputs:
            if x.dtype != first.dtype or x.rank != first.rank:
                raise ValueError(f"cannot concatenate {x} with {first}")
            for i, dim in enumerate(x.shape):
                if i != axis:
                    shape[i] = equate(shape[i], dim, f"shapes {first.shape} and {x.shape} off axis {axis}")
        shape[axis] = total([x.shape[axis] for x in inputs])
        return [TensorType(tuple(shape), first.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import topi

        return [topi.concatenate(list(inputs), attrs["axis"])]
