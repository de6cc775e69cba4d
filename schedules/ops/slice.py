"""Slice with per-axis start and step over every axis (attrs "starts", "steps"; output shape from infer).

The converter resolves ONNX's clamping and negative indices, so starts are in range and
the output shape ("sizes") is exact; an axis not sliced has start 0, step 1, its full size.
"""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class Slice(OpDef):
    name = "Slice"

    def infer(self, inputs, attrs):
        (x,) = inputs
        sizes = tuple(attrs["sizes"])
        if len(sizes) != x.rank or len(attrs["starts"]) != x.rank or len(attrs["steps"]) != x.rank:
            raise ValueError(f"slice of rank {len(sizes)} for input {x}")
        return [TensorType(sizes, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        (x,) = inputs
        starts, steps = attrs["starts"], attrs["steps"]
        shape = te_shape(outputs[0].shape, inputs)
        return [te.compute(shape, lambda *i: x[tuple(s + k * t for k, s, t in zip(i, starts, steps))],
                           name="slice")]
