"""Cast to another dtype (attr "to": a numpy dtype name). To bool means "is nonzero"."""
from __future__ import annotations

from convrnn.compiler.ir import SUPPORTED_DTYPES, TensorType
from convrnn.schedules.registry import OpDef, register


@register
class Cast(OpDef):
    name = "Cast"

    def infer(self, inputs, attrs):
        (x,) = inputs
        if attrs["to"] not in SUPPORTED_DTYPES:
            raise ValueError(f"cannot cast to {attrs['to']}")
        return [TensorType(x.shape, attrs["to"])]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import te, tirx

        (x,) = inputs
        to = attrs["to"]

        def cast(v):
            if to == "bool":
                return v != tirx.const(0, v.dtype)
            return v.astype(to)  # float -> int truncates toward zero (fptosi), as onnxruntime

        return [te.compute(x.shape, lambda *i: cast(x[i]), name="cast")]
