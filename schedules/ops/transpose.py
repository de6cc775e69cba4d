"""Transpose by an explicit permutation (attr "perm", resolved by the converter)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Transpose(OpDef):
    name = "Transpose"

    def infer(self, inputs, attrs):
        (x,) = inputs
        perm = list(attrs["perm"])
        if sorted(perm) != list(range(x.rank)):
            raise ValueError(f"perm {perm} is not a permutation of the {x.rank} axes")
        return [TensorType(tuple(x.shape[p] for p in perm), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import topi

        return [topi.transpose(inputs[0], list(attrs["perm"]))]
