"""Tile: the input repeated attr "repeats" times along each axis (ints, or symbolic dims)."""
from __future__ import annotations

from convrnn.compiler import symbolic_dims
from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class Tile(OpDef):
    name = "Tile"

    def infer(self, inputs, attrs):
        (x,) = inputs
        repeats = attrs["repeats"]
        if len(repeats) != x.rank:
            raise ValueError(f"{len(repeats)} repeats for an input of rank {x.rank}")
        if any(isinstance(r, int) and r < 1 for r in repeats):
            raise ValueError(f"repeats {list(repeats)} must be >= 1")
        return [TensorType(tuple(symbolic_dims.mul(d, r) for d, r in zip(x.shape, repeats)), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        shape = te_shape(outputs[0].shape, inputs)
        return [te.compute(shape, lambda *i: x[tuple(tirx.floormod(v, d) for v, d in zip(i, x.shape))],
                           name="tile")]
