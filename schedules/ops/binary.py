"""Elementwise binary ops with numpy broadcasting: arithmetic, comparison, logic."""
from __future__ import annotations

from convrnn.compiler.ir import TensorType
from convrnn.schedules.registry import OpDef, register
from convrnn.schedules.shapes import broadcast_shapes


class _Binary(OpDef):
    result_dtype: "str | None" = None  # None: the inputs' dtype

    def infer(self, inputs, attrs):
        a, b = inputs
        if a.dtype != b.dtype:
            raise ValueError(f"{self.name} operands have different dtypes {a.dtype} and {b.dtype}")
        return [TensorType(broadcast_shapes(a.shape, b.shape), self.result_dtype or a.dtype)]

    def compute(self, inputs, attrs, outputs):
        from convrnn.compiler.tvm_adapter import topi

        return [self.apply(topi, *inputs)]


def _binary(op_name: str, apply, result_dtype=None):
    cls = type(op_name, (_Binary,), {"name": op_name, "result_dtype": result_dtype,
                                     "apply": staticmethod(apply)})
    return register(cls)


_binary("Add", lambda topi, a, b: topi.add(a, b))
_binary("Sub", lambda topi, a, b: topi.subtract(a, b))
_binary("Mul", lambda topi, a, b: topi.multiply(a, b))
