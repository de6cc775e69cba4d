"""DynamicRange(start, delta): start + i * delta for i below the one dim of attr "shape", a
run-time dim (RangeLength's), for an ONNX Range whose start or limit is a run-time tensor."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class DynamicRange(OpDef):
    name = "DynamicRange"

    def infer(self, inputs, attrs):
        start, delta = inputs
        if start.shape not in ((), (1,)) or delta.shape not in ((), (1,)) or start.dtype != delta.dtype:
            raise ValueError(f"start and delta must be scalars of one type, got {start} and {delta}")
        if len(attrs["shape"]) != 1:
            raise ValueError(f"a range has one axis, got shape {attrs['shape']}")
        return [TensorType(tuple(attrs["shape"]), start.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te

        start, delta = (t[(0,) * len(t.shape)] for t in inputs)
        dtype = outputs[0].dtype
        shape = te_shape(outputs[0].shape, [])
        return [te.compute(shape, lambda i: start + i.astype(dtype) * delta, name="dynamic_range")]
