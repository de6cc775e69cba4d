"""Where(condition, x, y) with numpy broadcasting of all three operands."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.ops._broadcast import broadcast_compute
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


@register
class Where(OpDef):
    name = "Where"

    def infer(self, inputs, attrs):
        cond, x, y = inputs
        if cond.dtype != "bool":
            raise ValueError(f"condition must be bool, got {cond.dtype}")
        if x.dtype != y.dtype:
            raise ValueError(f"branches have different dtypes {x.dtype} and {y.dtype}")
        return [TensorType(broadcast_shapes(cond.shape, x.shape, y.shape), x.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import tirx

        return [broadcast_compute(inputs, lambda c, a, b: tirx.Select(c, a, b), name="where")]
