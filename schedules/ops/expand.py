"""Expand: broadcast the input to attr "shape" (the converter resolves ONNX's two-way broadcast)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import broadcast_compute, te_shape
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


@register
class Expand(OpDef):
    name = "Expand"

    def infer(self, inputs, attrs):
        (x,) = inputs
        shape = tuple(attrs["shape"])
        if broadcast_shapes(x.shape, shape) != shape:
            raise ValueError(f"{list(x.shape)} does not broadcast to {list(shape)}")
        return [TensorType(shape, x.dtype)]

    def compute(self, inputs, attrs, outputs):
        shape = te_shape(outputs[0].shape, inputs)
        return [broadcast_compute(inputs, lambda v: v, name="expand", shape=shape)]
