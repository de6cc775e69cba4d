"""Range with no tensor inputs: attr "start" + i * attr "delta" for i below the output's length,
a dim (a formula of symbolic dims when the limit is one); attr "dtype" the element type."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import te_shape
from convrnn.schedules.registry import OpDef, register


@register
class Range(OpDef):
    name = "Range"

    def infer(self, inputs, attrs):
        if inputs:
            raise ValueError(f"Range takes no tensor inputs, got {len(inputs)}")
        if attrs["delta"] == 0:
            raise ValueError("delta must not be 0")
        return [TensorType((attrs["length"],), attrs["dtype"])]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        dtype = outputs[0].dtype
        start, delta = tirx.const(attrs["start"], dtype), tirx.const(attrs["delta"], dtype)
        return [te.compute(te_shape(outputs[0].shape, []), lambda i: start + i.astype(dtype) * delta, name="range")]
