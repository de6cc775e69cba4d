"""RangeLength(start, limit, delta): the length of ONNX's Range over run-time scalars,
max(ceil((limit - start) / delta), 0), as an int64 vector of one element, bound to the run-time
dim attr "binds"[0] (compiler/bound_dims.py)."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register


@register
class RangeLength(OpDef):
    name = "RangeLength"

    def infer(self, inputs, attrs):
        start, limit, delta = inputs
        for what, value in (("start", start), ("limit", limit), ("delta", delta)):
            if value.shape not in ((), (1,)) or value.dtype != start.dtype:
                raise ValueError(f"{what} must be a scalar of {start.dtype}, got {value}")
        if len(attrs["binds"]) != 1:
            raise ValueError(f"a range has one length, got dims {attrs['binds']}")
        return [TensorType((1,), "int64")]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        start, limit, delta = (t[(0,) * len(t.shape)] for t in inputs)
        if "int" in str(inputs[0].dtype):
            steps = -tirx.floordiv((start - limit).astype("int64"), delta.astype("int64"))
        else:
            steps = tirx.ceil((limit - start) / delta).astype("int64")
        return [te.compute((1,), lambda _: tirx.max(steps, tirx.const(0, "int64")), name="range_length")]
